"""Silences, inhibition, rule suppression and time intervals hold notifications back; the alert
stays stored, visible and marked with what holds it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from alert_handler import db
from alert_handler.store.tables import silences_table
from tests.processing.conftest import Harness, alert


async def add_silence(harness: Harness, matchers: list[str], starts: datetime, ends: datetime) -> str:
    silence_id = str(uuid.uuid4())
    async with db.write(harness.engine) as conn:
        await conn.execute(
            silences_table.insert().values(
                id=silence_id, tenant="default", matchers=matchers, starts_at=starts, ends_at=ends,
                created_by="ann", comment="maintenance", created_at=harness.clock(), updated_at=harness.clock(),
            )
        )  # fmt: skip
    return silence_id


async def test_a_silenced_alert_is_marked_and_not_notified_until_the_silence_ends(harness: Harness) -> None:
    now = harness.clock()
    silence = await add_silence(harness, ['alertname="DiskFull"'], now, now + timedelta(minutes=10))
    [stored] = await harness.ingest(alert("DiskFull"))
    await harness.run()
    assert harness.recorder.messages("pager") == []
    row = await harness.alert(stored.id)
    assert row["suppressed_by"] == [{"kind": "silence", "id": silence}]
    assert row["status"] == "firing"
    harness.clock.advance(minutes=5)
    await harness.tick()
    assert harness.recorder.messages("pager") == []
    harness.clock.advance(minutes=6)  # the silence has ended: the next group flush tells the receiver
    await harness.tick()
    assert harness.recorder.alert_titles("pager") == [(["DiskFull"], [])]
    row = await harness.alert(stored.id)
    assert row["suppressed_by"] is None
    kinds = [e["kind"] for e in await harness.events(stored.id)]
    assert kinds == ["routed", "suppressed", "unsuppressed", "notified"]


async def test_a_new_silence_marks_alerts_that_already_fire(harness: Harness) -> None:
    [stored] = await harness.ingest(alert("DiskFull"))
    await harness.run()
    await harness.tick()
    silence = await add_silence(harness, ['host="web-1"'], harness.clock(), harness.clock() + timedelta(hours=1))
    harness.clock.advance(seconds=1)
    await harness.tick()
    assert (await harness.alert(stored.id))["suppressed_by"] == [{"kind": "silence", "id": silence}]


async def test_a_pending_silence_does_not_mute_yet(harness: Harness) -> None:
    now = harness.clock()
    await add_silence(harness, ['alertname="DiskFull"'], now + timedelta(hours=1), now + timedelta(hours=2))
    [stored] = await harness.ingest(alert("DiskFull"))
    await harness.run()
    assert len(harness.recorder.messages("pager")) == 1
    assert (await harness.alert(stored.id))["suppressed_by"] is None


INHIBITING = """
receivers: [{name: pager, type: log}]
route: {receiver: pager, group_by: ['...'], group_wait: 0s}
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [host]
"""


async def test_a_critical_alert_inhibits_the_warning_on_the_same_host(harness: Harness) -> None:
    harness.configure(INHIBITING)
    await harness.ingest(alert("NodeDown", host="db-1", severity="critical"))
    await harness.run()
    [same_host, other_host] = await harness.ingest(
        alert("DiskSlow", host="db-1", severity="warning"), alert("DiskSlow", host="db-2", severity="warning")
    )
    await harness.run()
    told = sorted((m.firing[0].title, m.firing[0].labels["host"]) for m in harness.recorder.messages("pager"))
    assert told == [("DiskSlow", "db-2"), ("NodeDown", "db-1")]
    marks = (await harness.alert(same_host.id))["suppressed_by"]
    assert [(m["kind"], m["id"]) for m in marks] == [("inhibition", "inhibit_rules[0]")]
    assert (await harness.alert(other_host.id))["suppressed_by"] is None


async def test_an_inhibited_alert_is_told_once_its_source_resolves(harness: Harness) -> None:
    harness.configure(INHIBITING)
    await harness.ingest(alert("NodeDown", host="db-1", severity="critical"))
    await harness.ingest(alert("DiskSlow", host="db-1", severity="warning"))
    await harness.run()
    assert [m.firing[0].title for m in harness.recorder.messages("pager")] == ["NodeDown"]
    await harness.ingest({**alert("NodeDown", host="db-1", severity="critical"), "status": "resolved"})
    harness.clock.advance(minutes=5)
    await harness.tick()
    told = [(len(m.firing), len(m.resolved)) for m in harness.recorder.messages("pager")]
    assert sorted(told) == [(0, 1), (1, 0), (1, 0)]


async def test_a_rule_that_suppresses_keeps_the_alert_out_of_every_group(harness: Harness) -> None:
    harness.configure(
        """
receivers: [{name: pager, type: log}]
route: {receiver: pager, group_wait: 0s}
rules:
  - name: drop-test-hosts
    matchers: ['host=~"test-.*"']
    effects: {suppress: true}
"""
    )
    [stored] = await harness.ingest(alert("DiskFull", host="test-7"))
    await harness.run()
    harness.clock.advance(minutes=10)
    await harness.tick()
    assert harness.recorder.messages("pager") == []
    row = await harness.alert(stored.id)
    assert row["suppressed_by"] == [{"kind": "rule", "id": "drop-test-hosts"}]
    assert row["explanation"]["routes"] == []


async def test_a_route_muted_by_a_time_interval_tells_after_the_interval(harness: Harness) -> None:
    # The harness clock starts on Monday 10:00 UTC.
    harness.configure(
        """
receivers: [{name: pager, type: log}]
route:
  receiver: pager
  group_wait: 0s
  group_interval: 5m
  routes: [{receiver: pager, mute_time_intervals: [morning]}]
time_intervals:
  - name: morning
    time_intervals: [{times: [{start_time: '09:00', end_time: '10:30'}]}]
"""
    )
    await harness.ingest(alert("DiskFull"))
    await harness.run()
    harness.clock.advance(minutes=25)
    await harness.tick()
    assert harness.recorder.messages("pager") == []
    harness.clock.advance(minutes=5)  # 10:30: outside the interval
    await harness.tick()
    assert len(harness.recorder.messages("pager")) == 1


async def test_active_time_intervals_only_tell_inside_them(harness: Harness) -> None:
    harness.configure(
        """
receivers: [{name: pager, type: log}]
route:
  receiver: pager
  group_wait: 0s
  routes:
    - receiver: pager
      matchers: ['severity="info"']
      active_time_intervals: [weekend]
time_intervals:
  - name: weekend
    time_intervals: [{weekdays: ['saturday', 'sunday']}]
"""
    )
    await harness.ingest(alert("Report", severity="info"), alert("Down", severity="critical"))
    await harness.run()
    assert [m.firing[0].title for m in harness.recorder.messages("pager")] == ["Down"]


async def test_explain_says_a_route_is_held_by_its_time_interval(database_url: str, tmp_path: Any) -> None:
    from datetime import UTC, datetime

    from tests.api.conftest import Clock, make_clocked_api

    config = tmp_path / "config.yaml"
    config.write_text(
        """
receivers: [{name: pager, type: log}]
route:
  receiver: pager
  routes: [{receiver: pager, mute_time_intervals: [always]}]
time_intervals:
  - {name: always, time_intervals: [{weekdays: ['sunday:saturday']}]}
"""
    )
    clock = Clock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    async for api in make_clocked_api(database_url, clock, config_file=str(config), worker_mode="off"):
        answer = await api.client.post("/api/v1/alerts", json={"title": "x", "source": "s"}, headers=api.auth())
        alert_id = answer.json()["id"]
        from alert_handler.processing.pipeline import Pipeline
        from alert_handler.processing.run import run_once

        runtime = api.client._transport.app.state.runtime  # type: ignore[attr-defined]
        pipeline: Pipeline = runtime.pipeline
        await run_once(pipeline)
        explained = (await api.client.get(f"/api/v1/alerts/{alert_id}/explain", headers=api.auth())).json()
        assert explained["routes"][0]["time_muted"] == "mute_time_intervals: in 'always'"
