"""Groups, group_wait / group_interval / repeat_interval and resolved notifications, as
Alertmanager documents them, through the whole pipeline on every database."""

from __future__ import annotations

from tests.processing.conftest import Harness, alert

WAITING = """
receivers:
  - {name: pager, type: log}
  - {name: quiet, type: log, settings: {send_resolved: false}}
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
  routes:
    - {receiver: quiet, matchers: ['team="quiet"']}
"""


async def test_group_wait_zero_notifies_at_once_and_only_once(harness: Harness) -> None:
    await harness.ingest(alert("DiskFull"))
    report = await harness.run()
    assert report.processed == 1 and report.delivered.sent == 1
    assert harness.recorder.alert_titles("pager") == [(["DiskFull"], [])]
    assert (await harness.run()).processed == 0
    harness.clock.advance(seconds=1)
    await harness.tick()
    assert len(harness.recorder.messages("pager")) == 1


async def test_alerts_arriving_within_group_wait_share_one_notification(harness: Harness) -> None:
    harness.configure(WAITING)
    await harness.ingest(alert("HighCPU", host="a"))
    await harness.run()
    harness.clock.advance(seconds=10)
    await harness.ingest(alert("HighCPU", host="b"), alert("DiskFull", host="a"))
    await harness.run()
    assert harness.recorder.messages("pager") == []
    harness.clock.advance(seconds=21)  # 31 s after the first HighCPU, 21 s after DiskFull
    await harness.tick()
    assert harness.recorder.alert_titles("pager") == [(["HighCPU", "HighCPU"], [])]
    harness.clock.advance(seconds=10)
    await harness.tick()
    assert harness.recorder.alert_titles("pager")[1:] == [(["DiskFull"], [])]


async def test_a_new_alert_waits_for_group_interval_then_repeat_interval_resends(harness: Harness) -> None:
    harness.configure(WAITING)
    await harness.ingest(alert("HighCPU", host="a"))
    harness.clock.advance(seconds=30)
    await harness.tick()
    assert len(harness.recorder.messages("pager")) == 1
    harness.clock.advance(minutes=1)
    await harness.ingest(alert("HighCPU", host="b"))
    await harness.run()
    await harness.tick()
    assert len(harness.recorder.messages("pager")) == 1, "joins the group; told at the next group_interval"
    harness.clock.advance(minutes=4)
    await harness.tick()
    assert harness.recorder.alert_titles("pager")[1] == (["HighCPU", "HighCPU"], [])
    for _ in range(11):  # nothing new: no message until repeat_interval (1h) has passed
        harness.clock.advance(minutes=5)
        await harness.tick()
    assert len(harness.recorder.messages("pager")) == 2
    harness.clock.advance(minutes=5)
    await harness.tick()
    assert len(harness.recorder.messages("pager")) == 3


async def test_resolved_alerts_are_sent_once_when_the_receiver_wants_them(harness: Harness) -> None:
    harness.configure(WAITING)
    first = await harness.ingest(alert("HighCPU", host="a"), alert("HighCPU", host="b"))
    harness.clock.advance(seconds=30)
    await harness.tick()
    await harness.ingest({**alert("HighCPU", host="a"), "status": "resolved"})
    await harness.run()
    harness.clock.advance(minutes=5)
    await harness.tick()
    assert harness.recorder.alert_titles("pager")[-1] == (["HighCPU"], ["HighCPU"])
    resolved = harness.recorder.messages("pager")[-1].resolved[0]
    assert resolved.id == first[0].id and resolved.status == "resolved"
    await harness.ingest({**alert("HighCPU", host="b"), "status": "resolved"})
    harness.clock.advance(minutes=5)
    await harness.tick()
    last = harness.recorder.messages("pager")[-1]
    assert (last.status, [a.id for a in last.resolved], last.firing) == ("resolved", [first[1].id], [])
    count = len(harness.recorder.messages("pager"))
    harness.clock.advance(hours=2)
    await harness.tick()
    assert len(harness.recorder.messages("pager")) == count, "an empty group goes idle"


async def test_without_send_resolved_the_log_still_forgets_resolved_alerts(harness: Harness) -> None:
    harness.configure(WAITING)
    await harness.ingest(alert("Quiet", labels={"team": "quiet"}))
    harness.clock.advance(seconds=30)
    await harness.tick()
    await harness.ingest({**alert("Quiet", labels={"team": "quiet"}), "status": "resolved"})
    harness.clock.advance(minutes=5)
    await harness.tick()
    assert harness.recorder.alert_titles("quiet") == [(["Quiet"], [])]
    # It fires again: a new occurrence, told about again although the old one was never "resolved" to it.
    await harness.ingest(alert("Quiet", labels={"team": "quiet"}))
    harness.clock.advance(seconds=30)
    await harness.tick()
    assert harness.recorder.alert_titles("quiet") == [(["Quiet"], []), (["Quiet"], [])]


async def test_continue_sends_to_every_matching_route_and_explains_it(harness: Harness) -> None:
    harness.configure(
        """
receivers:
  - {name: default, type: log}
  - {name: ops, type: log}
  - {name: db, type: log}
route:
  receiver: default
  group_wait: 0s
  routes:
    - {receiver: ops, matchers: ['severity="critical"'], continue: true}
    - {receiver: db, matchers: ['service=~"postgres|mysql"']}
"""
    )
    [stored] = await harness.ingest(alert("ReplicationLag", labels={"service": "postgres"}))
    await harness.run()
    assert [len(harness.recorder.messages(r)) for r in ("default", "ops", "db")] == [0, 1, 1]
    row = await harness.alert(stored.id)
    routes = row["explanation"]["routes"]
    assert [(r["path"], r["receiver"]) for r in routes] == [("route.routes[0]", "ops"), ("route.routes[1]", "db")]
    assert all(r["group_id"] for r in routes)
    kinds = [e["kind"] for e in await harness.events(stored.id)]
    assert kinds == ["routed", "notified", "notified"]


async def test_group_by_all_labels_makes_one_group_per_label_set(harness: Harness) -> None:
    harness.configure(
        """
receivers: [{name: pager, type: log}]
route: {receiver: pager, group_by: ['...'], group_wait: 0s}
"""
    )
    await harness.ingest(alert("A", host="1"), alert("A", host="2"))
    await harness.run()
    assert sorted(len(m.firing) for m in harness.recorder.messages("pager")) == [1, 1]
    labels = sorted(m.group_labels["host"] for m in harness.recorder.messages("pager"))
    assert labels == ["1", "2"]


async def test_duplicates_are_not_notified_again(harness: Harness) -> None:
    await harness.ingest(alert("DiskFull"))
    await harness.run()
    for _ in range(3):
        harness.clock.advance(seconds=20)
        await harness.ingest(alert("DiskFull"))
        await harness.run()
        await harness.tick()
    assert len(harness.recorder.messages("pager")) == 1


async def test_acknowledged_alerts_are_not_repeated(harness: Harness) -> None:
    [stored] = await harness.ingest(alert("DiskFull"))
    await harness.run()
    await harness.acknowledge(stored.id)
    await harness.run()
    harness.clock.advance(hours=5)
    await harness.tick()
    harness.clock.advance(minutes=5)
    await harness.tick()
    assert len(harness.recorder.messages("pager")) == 1


async def test_idle_groups_and_old_notifications_are_forgotten_after_the_retention(harness: Harness) -> None:
    from sqlalchemy import func, select

    from alert_handler import db
    from alert_handler.store.tables import groups_table

    async def group_count() -> int:
        async with db.read(harness.engine) as conn:
            return int((await conn.execute(select(func.count()).select_from(groups_table))).scalar_one())

    await harness.ingest(alert("DiskFull"), alert("HighCPU"))
    await harness.run()
    await harness.ingest({**alert("DiskFull"), "status": "resolved"})
    harness.clock.advance(minutes=5)
    await harness.tick()
    assert (await group_count(), len(await harness.notifications())) == (2, 3)
    harness.clock.advance(hours=121)
    await harness.tick()
    # DiskFull's group is idle and old: gone, with its notifications; HighCPU still fires.
    assert await group_count() == 1
    assert [n["group_labels"]["alertname"] for n in await harness.notifications()] == ["HighCPU"]


async def test_a_severity_a_rule_set_is_not_taken_for_a_change_by_the_source(harness: Harness) -> None:
    harness.configure(
        """
receivers: [{name: pager, type: log}]
route: {receiver: pager, group_wait: 0s}
rules:
  - name: raise-db
    matchers: ['service="postgres"']
    effects: {severity: critical}
"""
    )
    [stored] = await harness.ingest(alert("Lag", severity="warning", labels={"service": "postgres"}))
    await harness.run()
    for _ in range(3):
        harness.clock.advance(seconds=30)
        await harness.ingest(alert("Lag", severity="warning", labels={"service": "postgres"}))
        await harness.run()
    row = await harness.alert(stored.id)
    assert (row["severity"], row["sent_severity"]) == ("critical", "warning")
    kinds = [e["kind"] for e in await harness.events(stored.id)]
    assert kinds == ["routed", "notified", "duplicate", "duplicate", "duplicate"]
    harness.clock.advance(seconds=30)
    await harness.ingest(alert("Lag", severity="info", labels={"service": "postgres"}))
    await harness.run()
    assert sorted(e["kind"] for e in (await harness.events(stored.id))[-2:]) == ["duplicate", "severity_changed"]


ENRICHING = """
receivers: [{name: pager, type: log}]
route: {receiver: pager, group_by: [alertname], group_wait: 0s, group_interval: 1m}
rules:
  - name: disks-are-critical
    matchers: ['alertname="DiskFull"']
    effects: {severity: critical, labels: {team: storage}, tags: [disk]}
"""


async def test_a_new_groups_first_message_carries_what_processing_just_wrote(harness: Harness) -> None:
    # The flush of a group made in the same transaction uses the rows processing wrote (not
    # read back): they must be the enriched ones, as a later flush reading them would see.
    harness.configure(ENRICHING)
    stored, _ = await harness.ingest(alert("DiskFull", severity="warning"), alert("DiskFull", host="web-2"))
    await harness.run()
    [first] = harness.recorder.messages("pager")
    assert [(a.severity, a.labels.get("team"), a.tags) for a in first.firing] == [("critical", "storage", ["disk"])] * 2
    harness.clock.advance(minutes=1)
    await harness.ingest(alert("DiskFull", host="web-3"))
    await harness.tick()
    [_, second] = harness.recorder.messages("pager")
    assert [(a.severity, a.labels.get("team")) for a in second.firing] == [("critical", "storage")] * 3
    assert (await harness.alert(stored.id))["severity"] == "critical"
