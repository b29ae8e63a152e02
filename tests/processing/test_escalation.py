"""Escalation: steps after N minutes while firing and unacknowledged; acknowledging stops it."""

from __future__ import annotations

from tests.processing.conftest import Harness, alert

ESCALATING = """
receivers:
  - {name: pager, type: log}
  - {name: lead, type: log}
  - {name: director, type: log}
route: {receiver: pager, group_wait: 0s}
rules:
  - name: escalate-db
    matchers: ['service="postgres"']
    effects: {escalation_policy: db}
escalation_policies:
  - name: db
    steps:
      - {after: 5m, receivers: [lead]}
      - {after: 15m, receivers: [lead, director]}
    repeat: 1
"""


async def _tick_at(harness: Harness, minutes: float) -> None:
    harness.clock.advance(minutes=minutes)
    await harness.tick()


async def test_steps_run_in_order_then_repeat_and_show_on_the_timeline(harness: Harness) -> None:
    harness.configure(ESCALATING)
    [stored] = await harness.ingest(alert("ReplicationLag", labels={"service": "postgres"}))
    await harness.run()
    await _tick_at(harness, 4)
    assert harness.recorder.messages("lead") == []
    await _tick_at(harness, 1)  # 5m
    assert len(harness.recorder.messages("lead")) == 1
    message = harness.recorder.messages("lead")[0]
    assert (message.kind, [a.id for a in message.firing]) == ("escalation", [stored.id])
    await _tick_at(harness, 10)  # 15m
    assert (len(harness.recorder.messages("lead")), len(harness.recorder.messages("director"))) == (2, 1)
    await _tick_at(harness, 5)  # 20m: the second round's first step
    await _tick_at(harness, 10)  # 30m: its second step
    assert (len(harness.recorder.messages("lead")), len(harness.recorder.messages("director"))) == (4, 2)
    await _tick_at(harness, 60)
    assert len(harness.recorder.messages("lead")) == 4, "repeat: 1 runs the steps twice in all"
    escalations = [e for e in await harness.events(stored.id) if e["kind"] == "escalated"]
    assert [e["detail"]["step"] for e in escalations] == [0, 1, 2, 3]
    assert escalations[1]["detail"]["receivers"] == ["lead", "director"]
    assert (await harness.alert(stored.id))["escalation_due_at"] is None


async def test_acknowledging_stops_escalation(harness: Harness) -> None:
    harness.configure(ESCALATING)
    [stored] = await harness.ingest(alert("ReplicationLag", labels={"service": "postgres"}))
    await harness.run()
    await _tick_at(harness, 5)
    await harness.acknowledge(stored.id)
    await harness.run()
    await _tick_at(harness, 30)
    assert len(harness.recorder.messages("lead")) == 1
    assert harness.recorder.messages("director") == []


async def test_resolving_stops_escalation(harness: Harness) -> None:
    harness.configure(ESCALATING)
    await harness.ingest(alert("ReplicationLag", labels={"service": "postgres"}))
    await harness.run()
    await harness.ingest({**alert("ReplicationLag", labels={"service": "postgres"}), "status": "resolved"})
    await harness.run()
    await _tick_at(harness, 30)
    assert harness.recorder.messages("lead") == []


async def test_alerts_no_rule_escalates_are_left_alone(harness: Harness) -> None:
    harness.configure(ESCALATING)
    [stored] = await harness.ingest(alert("DiskFull"))
    await harness.run()
    await _tick_at(harness, 30)
    assert harness.recorder.messages("lead") == []
    assert (await harness.alert(stored.id))["escalation_policy"] is None
