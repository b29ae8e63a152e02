"""A circuit breaker per receiver: after a few sends in a row that found the service
unreachable (timed out, connection failed), sends to it fail at once for a while instead of
each waiting out its timeout, so one dead service cannot tie up the senders every other
receiver needs. The notifications stay owed and are retried with backoff like any failure.

In-process and pure: the caller passes the time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alert_handler.channels.base import Delivery

TRIP_AFTER = 3
FIRST_OPEN = timedelta(seconds=5)
LONGEST_OPEN = timedelta(seconds=60)


def unreachable(result: Delivery) -> bool:
    return not result.ok and result.retry and result.error.startswith(("timed out", "connection failed"))


@dataclass(slots=True)
class _State:
    failures: int = 0
    trips: int = 0
    open_until: datetime | None = None


@dataclass(slots=True)
class Breakers:
    _receivers: dict[str, _State] = field(default_factory=dict)

    def closed_for(self, receiver: str, now: datetime) -> Delivery | None:
        """None when a send may go out; else the Delivery to record instead."""
        state = self._receivers.get(receiver)
        if state is None or state.open_until is None or now >= state.open_until:
            return None
        return Delivery.failed(
            f"not sent: {receiver} was unreachable {state.failures} times in a row; trying again after "
            f"{state.open_until.isoformat()}",
            retry=True,
        )

    def record(self, receiver: str, result: Delivery, now: datetime) -> None:
        state = self._receivers.setdefault(receiver, _State())
        if not unreachable(result):
            if result.ok or state.open_until is None or now >= state.open_until:
                self._receivers.pop(receiver, None)
            return
        state.failures += 1
        if state.failures >= TRIP_AFTER:
            state.open_until = now + min(FIRST_OPEN * (1 << min(state.trips, 10)), LONGEST_OPEN)
            state.trips += 1
