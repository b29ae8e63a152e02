"""Storm protection: at most `max_per_minute` messages a minute to a receiver; the rest arrive
as one digest, or wait for the minute to free and then arrive merged."""

from __future__ import annotations

from datetime import timedelta

from alert_handler.processing import storm
from tests.processing.conftest import T0, Harness, alert

LIMITED = """
receivers:
  - {name: pager, type: log, settings: {max_per_minute: 3}}
  - {name: audit, type: log}
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - {receiver: audit, continue: true, matchers: ['audit="yes"']}
    - {receiver: pager}
"""


async def test_a_burst_over_the_limit_becomes_one_digest(harness: Harness) -> None:
    harness.configure(LIMITED)
    await harness.ingest(*(alert(f"Disk{i}") for i in range(10)))
    await harness.run()
    messages = harness.recorder.messages("pager")
    assert [m.merged for m in messages] == [1, 1, 8]
    digest = messages[-1]
    assert digest.kind == "digest" and len(digest.firing) == 8
    assert sorted(a.title for m in messages for a in m.firing) == sorted(f"Disk{i}" for i in range(10))
    rows = await harness.notifications()
    assert {r["status"] for r in rows} == {"sent"}
    assert len({r["sent_as"] for r in rows}) == 3
    [event] = [e for e in await harness.events(digest.firing[0].id) if e["kind"] == "notified"]
    assert event["detail"]["digest_of"] == 8


async def test_when_the_minute_is_used_up_they_wait_and_arrive_merged(harness: Harness) -> None:
    harness.configure(LIMITED)
    await harness.ingest(*(alert(f"Disk{i}") for i in range(3)))
    await harness.run()
    assert len(harness.recorder.messages("pager")) == 3
    harness.clock.advance(seconds=20)
    await harness.ingest(*(alert(f"Cpu{i}") for i in range(4)))
    report = await harness.run()
    assert len(harness.recorder.messages("pager")) == 3, "the minute's three are used"
    assert report.delivered.postponed == 4
    waiting = [r for r in await harness.notifications() if r["status"] == "pending"]
    assert len(waiting) == 4 and {r["attempts"] for r in waiting} == {0}
    assert {r["next_attempt_at"] for r in waiting} == {T0 + timedelta(minutes=1)}
    harness.clock.advance(seconds=41)
    await harness.tick()
    messages = harness.recorder.messages("pager")
    assert len(messages) == 6
    assert sorted(a.title for m in messages[3:] for a in m.firing) == [f"Cpu{i}" for i in range(4)]
    assert [m.merged for m in messages[3:]] == [1, 1, 2]


async def test_other_receivers_are_not_held_back(harness: Harness) -> None:
    harness.configure(LIMITED)
    await harness.ingest(*(alert(f"Disk{i}", labels={"audit": "yes"}) for i in range(10)))
    await harness.run()
    assert len(harness.recorder.messages("audit")) == 10, "no limit on audit"
    assert len(harness.recorder.messages("pager")) == 3


def test_plan_sends_each_while_the_minute_allows() -> None:
    rows = [{"id": i, "receiver": "r"} for i in range(3)]
    planned = storm.plan(rows, {"r": 5}, {"r": storm.Recent(2, T0)}, T0)
    assert planned.messages == [[r] for r in rows] and planned.postponed == []


def test_plan_merges_what_would_exceed_the_minute() -> None:
    rows = [{"id": i, "receiver": "r"} for i in range(6)]
    planned = storm.plan(rows, {"r": 5}, {"r": storm.Recent(2, T0)}, T0 + timedelta(seconds=5))
    assert planned.messages == [[rows[0]], [rows[1]], rows[2:]]


def test_plan_holds_everything_when_the_minute_is_used_until_it_frees() -> None:
    rows = [{"id": 1, "receiver": "r"}]
    planned = storm.plan(rows, {"r": 2}, {"r": storm.Recent(2, T0)}, T0 + timedelta(seconds=10))
    assert planned.messages == [] and planned.postponed == [(rows[0], T0 + timedelta(minutes=1))]


def test_plan_leaves_unlimited_receivers_alone() -> None:
    rows = [{"id": i, "receiver": "r"} for i in range(100)]
    assert len(storm.plan(rows, {"r": 0}, {}, T0).messages) == 100


def test_the_local_window_forgets_after_a_minute() -> None:
    window = storm.LocalWindow()
    window.record(["r", "r"], T0)
    assert window.recent("r", T0 + timedelta(seconds=59)) == storm.Recent(2, T0)
    assert window.recent("r", T0 + timedelta(seconds=61)) == storm.Recent(0, None)
