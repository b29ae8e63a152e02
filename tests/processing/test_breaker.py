"""The per-receiver circuit breaker: a service found unreachable three times in a row is not
called for a while (its notifications stay owed and are retried); other receivers go on."""

from __future__ import annotations

from datetime import timedelta

from alert_handler.channels.base import Delivery
from alert_handler.processing.breaker import Breakers
from tests.processing.conftest import T0, Harness, alert
from tests.processing.test_delivery import TWO_RECEIVERS

TIMED_OUT = Delivery.failed("timed out", retry=True)


def test_three_unreachable_sends_open_it_for_a_while() -> None:
    breakers = Breakers()
    for _ in range(2):
        breakers.record("r", TIMED_OUT, T0)
    assert breakers.closed_for("r", T0) is None
    breakers.record("r", TIMED_OUT, T0)
    held = breakers.closed_for("r", T0 + timedelta(seconds=4))
    assert held is not None and held.retry and "unreachable 3 times" in held.error
    assert breakers.closed_for("r", T0 + timedelta(seconds=5)) is None, "half open: one send may try"
    breakers.record("r", TIMED_OUT, T0 + timedelta(seconds=5))
    assert breakers.closed_for("r", T0 + timedelta(seconds=14)) is not None, "open longer each time"
    assert breakers.closed_for("other", T0) is None


def test_a_delivery_or_a_refusal_closes_it() -> None:
    breakers = Breakers()
    for _ in range(3):
        breakers.record("r", TIMED_OUT, T0)
    breakers.record("r", Delivery.sent(), T0 + timedelta(seconds=6))
    assert breakers.closed_for("r", T0 + timedelta(seconds=6)) is None
    for _ in range(2):
        breakers.record("r", TIMED_OUT, T0)
    breakers.record("r", Delivery.failed("HTTP 400: bad", retry=False), T0)
    breakers.record("r", TIMED_OUT, T0)
    assert breakers.closed_for("r", T0) is None, "the count starts again after a service that answered"


async def test_a_dead_service_is_not_called_while_open_and_its_notifications_stay_owed(harness: Harness) -> None:
    harness.configure(TWO_RECEIVERS)
    harness.recorder.failures["slow"] = [TIMED_OUT] * 3
    for i in range(3):
        await harness.ingest(alert(f"Disk{i}"))
    await harness.run()
    assert len(harness.recorder.messages("pager")) == 3
    await harness.ingest(alert("Cpu"))
    await harness.run()
    assert len(harness.recorder.messages("pager")) == 4, "the other receiver goes on"
    slow = [r for r in await harness.notifications() if r["receiver"] == "slow"]
    assert [r["status"] for r in slow] == ["pending"] * 4
    assert "unreachable 3 times" in slow[-1]["last_error"], "not called: the breaker answered"
    assert harness.recorder.failures["slow"] == [], "three calls, no fourth"
    harness.clock.advance(minutes=5)
    await harness.tick()
    assert {r["status"] for r in await harness.notifications()} == {"sent"}
    assert len(harness.recorder.messages("slow")) == 4
