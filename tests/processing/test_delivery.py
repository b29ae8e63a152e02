"""Delivery: bounded retries with backoff, a visible dead state, leases that outlive a dead sender."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from alert_handler import db
from alert_handler.channels.base import Delivery
from alert_handler.processing.deliver import backoff, deliver, send
from alert_handler.processing.pipeline import Limits
from alert_handler.processing.run import decide
from alert_handler.store.tables import notifications_table
from tests.processing.conftest import Harness, alert


async def test_a_retryable_failure_is_retried_with_backoff_then_sent(harness: Harness) -> None:
    harness.recorder.failures["pager"] = [Delivery.failed("HTTP 503", retry=True)] * 2
    [stored] = await harness.ingest(alert("DiskFull"))
    await harness.run()
    [row] = await harness.notifications()
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, "HTTP 503")
    first_retry = row["next_attempt_at"] - harness.clock()
    assert timedelta(seconds=5) <= first_retry <= timedelta(seconds=15)  # retry_base 10 s, jitter ±50 %
    await harness.tick()
    assert (await harness.notifications())[0]["attempts"] == 1, "not before its time"
    harness.clock.advance(seconds=16)
    await harness.tick()
    harness.clock.advance(seconds=31)
    await harness.tick()
    [row] = await harness.notifications()
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 3, None)
    assert len(harness.recorder.messages("pager")) == 1
    kinds = [e["kind"] for e in await harness.events(stored.id)]
    assert kinds == ["routed", "notification_failed", "notification_failed", "notified"]


async def test_a_failure_no_retry_can_fix_is_dead_at_once(harness: Harness) -> None:
    harness.recorder.failures["pager"] = [Delivery.failed("HTTP 400: bad payload", retry=False)]
    [stored] = await harness.ingest(alert("DiskFull"))
    await harness.run()
    [row] = await harness.notifications()
    assert (row["status"], row["next_attempt_at"], row["last_error"]) == ("dead", None, "HTTP 400: bad payload")
    [failed] = [e for e in await harness.events(stored.id) if e["kind"] == "notification_failed"]
    assert failed["detail"]["gave_up"] is True


async def test_retries_stop_at_the_deadline(harness: Harness) -> None:
    harness.pipeline.limits = Limits(retry_base=timedelta(seconds=10), notify_deadline=timedelta(minutes=2))
    harness.recorder.failures["pager"] = [Delivery.failed("timed out", retry=True)] * 100
    await harness.ingest(alert("DiskFull"))
    await harness.run()
    for _ in range(20):
        harness.clock.advance(seconds=30)
        await harness.tick()
    [row] = await harness.notifications()
    assert row["status"] == "dead"
    assert 2 <= row["attempts"] <= 6


def test_backoff_grows_exponentially_up_to_its_cap() -> None:
    import random

    limits = Limits(retry_base=timedelta(seconds=1), retry_max=timedelta(seconds=60))
    rand = random.Random(1)
    delays = [backoff(n, limits, rand).total_seconds() for n in range(1, 12)]
    assert all(0.5 * min(2 ** (n - 1), 60) <= d <= 1.5 * min(2 ** (n - 1), 60) for n, d in enumerate(delays, 1))


async def test_a_notification_whose_sender_died_is_sent_after_its_lease(harness: Harness) -> None:
    [stored] = await harness.ingest(alert("DiskFull"))
    # Process and flush, but do not deliver: as if the worker died right after claiming.
    harness.pipeline.limits = Limits(lease=timedelta(seconds=60))
    await harness.run()
    async with db.write(harness.engine) as conn:
        await conn.execute(
            update(notifications_table).values(
                status="sending", next_attempt_at=harness.clock() + timedelta(seconds=60), sent_at=None
            )
        )
    harness.recorder.sent.clear()
    harness.clock.advance(seconds=30)
    assert (await deliver(harness.pipeline)).sent == 0, "the lease still holds"
    harness.clock.advance(seconds=31)
    assert (await deliver(harness.pipeline)).sent == 1
    assert [m.firing[0].id for m in harness.recorder.messages("pager")] == [stored.id]


async def test_ends_at_in_the_past_resolves_the_alert(harness: Harness) -> None:
    ends = (harness.clock() + timedelta(minutes=4)).isoformat()
    [stored] = await harness.ingest({**alert("DiskFull"), "ends_at": ends})
    await harness.run()
    harness.clock.advance(minutes=3)
    await harness.tick()
    assert (await harness.alert(stored.id))["status"] == "firing"
    harness.clock.advance(minutes=2)
    await harness.tick()
    row = await harness.alert(stored.id)
    assert (row["status"], row["resolved_by"]) == ("resolved", "system:scheduler")
    harness.clock.advance(minutes=5)
    await harness.tick()
    assert harness.recorder.alert_titles("pager") == [(["DiskFull"], []), ([], ["DiskFull"])]


async def test_a_retry_waits_at_least_as_long_as_the_service_asked(harness: Harness) -> None:
    harness.recorder.failures["pager"] = [Delivery.failed("HTTP 429: slow down", retry=True, retry_after=300)]
    await harness.ingest(alert("DiskFull"))
    await harness.run()
    [row] = await harness.notifications()
    assert row["status"] == "pending"
    assert row["next_attempt_at"] - harness.clock() >= timedelta(seconds=300)


async def test_a_wait_past_the_deadline_gives_up(harness: Harness) -> None:
    harness.pipeline.limits = Limits(notify_deadline=timedelta(minutes=2))
    harness.recorder.failures["pager"] = [Delivery.failed("HTTP 429", retry=True, retry_after=3600)]
    await harness.ingest(alert("DiskFull"))
    await harness.run()
    [row] = await harness.notifications()
    assert row["status"] == "dead"


async def test_later_messages_of_a_group_carry_the_first_ones_thread(harness: Harness) -> None:
    harness.recorder.replies["pager"] = {"ts": "1712.0001"}
    [first] = await harness.ingest(alert("DiskFull", host="a"))
    await harness.run()
    harness.clock.advance(minutes=6)
    await harness.ingest(alert("DiskFull", host="b"))
    await harness.tick()
    harness.clock.advance(minutes=6)
    await harness.ingest({**alert("DiskFull", host="a"), "status": "resolved"})
    await harness.tick()
    messages = harness.recorder.messages("pager")
    assert len(messages) == 3
    assert messages[0].thread == {}
    assert messages[1].thread == messages[2].thread == {"ts": "1712.0001", "n": "1"}
    assert first.id


TWO_RECEIVERS = """
receivers:
  - {name: pager, type: log}
  - {name: slow, type: log}
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 0s
  routes:
    - {receiver: slow, continue: true}
    - {receiver: pager}
"""


async def test_a_slow_service_never_holds_back_what_the_others_delivered(harness: Harness) -> None:
    harness.configure(TWO_RECEIVERS)
    harness.recorder.delays["slow"] = 2.0
    await harness.ingest(alert("DiskFull"))
    claimed = (await decide(harness.pipeline))[1]
    sending = asyncio.create_task(send(harness.pipeline, claimed))
    for _ in range(100):
        statuses = {r["receiver"]: r["status"] for r in await harness.notifications()}
        if statuses["pager"] == "sent":
            break
        await asyncio.sleep(0.02)
    assert statuses == {"pager": "sent", "slow": "sending"}
    await sending
    assert {r["status"] for r in await harness.notifications()} == {"sent"}
