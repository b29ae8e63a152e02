"""Storm protection: at most `per_minute` messages a minute go to one receiver. When claimed
notifications would exceed what is left of the minute, the last one allowed becomes a digest
that carries all the rest; when nothing is left, they wait for the window to free (and are
merged then). Pure: the caller says what was sent recently.

DingTalk and WeCom robots take 20 messages a minute and drop the rest, so their channels default
to 20; a person reading a chat or a phone cannot take a flood either.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Recent:
    """Messages sent to one receiver within the window, and when the oldest of them went."""

    count: int = 0
    oldest: datetime | None = None


@dataclass(slots=True)
class Plan:
    # Each entry is one message: a single notification, or several merged into a digest.
    messages: list[list[dict[str, Any]]] = field(default_factory=list)
    # Notifications that must wait, and until when.
    postponed: list[tuple[dict[str, Any], datetime]] = field(default_factory=list)


def plan(
    notifications: Sequence[dict[str, Any]],
    per_minute: Mapping[str, int],
    recent: Mapping[str, Recent],
    now: datetime,
) -> Plan:
    """Split claimed notifications (oldest first) into messages to send now and ones to hold."""
    by_receiver: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for notification in notifications:
        by_receiver[notification["receiver"]].append(notification)
    result = Plan()
    for receiver, claimed in by_receiver.items():
        limit = per_minute.get(receiver, 0)
        if limit <= 0:
            result.messages.extend([n] for n in claimed)
            continue
        seen = recent.get(receiver, Recent())
        budget = limit - seen.count
        if budget <= 0:
            until = (seen.oldest + WINDOW) if seen.oldest is not None else now + WINDOW
            result.postponed.extend((n, max(until, now + timedelta(seconds=1))) for n in claimed)
        elif len(claimed) <= budget:
            result.messages.extend([n] for n in claimed)
        else:
            result.messages.extend([n] for n in claimed[: budget - 1])
            result.messages.append(list(claimed[budget - 1 :]))
    return result


class LocalWindow:
    """Messages this process sent (or is sending) per receiver in the last minute: added to what
    the database shows, so concurrent sends in one process never overrun a limit."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[datetime]] = defaultdict(deque)

    def recent(self, receiver: str, now: datetime) -> Recent:
        times = self._sent[receiver]
        while times and times[0] <= now - WINDOW:
            times.popleft()
        return Recent(len(times), times[0] if times else None)

    def record(self, receivers: Iterable[str], now: datetime) -> None:
        for receiver in receivers:
            self._sent[receiver].append(now)


def combine(stored: Recent, local: Recent) -> Recent:
    """What the database shows and what this process knows, whichever is larger."""
    if local.count > stored.count:
        return local
    return stored
