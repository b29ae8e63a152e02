"""Which status changes a person may make, and why the others are refused."""

from __future__ import annotations

from dataclasses import dataclass

from alert_handler.domain.alert import EventKind, Status


@dataclass(frozen=True, slots=True)
class Transition:
    allowed: bool
    event: EventKind | None = None
    reason: str = ""


_EVENTS = {
    (Status.FIRING, Status.ACKNOWLEDGED): EventKind.ACKNOWLEDGED,
    (Status.FIRING, Status.RESOLVED): EventKind.RESOLVED,
    (Status.ACKNOWLEDGED, Status.RESOLVED): EventKind.RESOLVED,
    (Status.ACKNOWLEDGED, Status.FIRING): EventKind.UNACKNOWLEDGED,
}


def transition(current: Status, target: Status) -> Transition:
    """Decide a manual status change. Returned, not raised: the caller turns a refusal into a 409."""
    if current == target:
        return Transition(False, reason=f"alert is already {current.value}")
    if current == Status.RESOLVED:
        return Transition(
            False,
            reason="alert is resolved; when it fires again a new occurrence is created and linked to this one",
        )
    event = _EVENTS.get((current, target))
    if event is None:
        return Transition(False, reason=f"cannot change status from {current.value} to {target.value}")
    return Transition(True, event=event)
