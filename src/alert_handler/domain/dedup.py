"""De-duplication as a pure decision: given what is stored and what arrived, what must change.

Per alert identity (tenant + fingerprint), the arrivals of one batch are folded in order:
- firing, no open alert        -> a new alert ("created"; "reopened" when an earlier occurrence
                                  exists, linked to it by `previous_id`)
- firing, open alert           -> a duplicate: count, last-received time, content and severity
                                  are refreshed; a severity change becomes its own timeline event
- resolved, open alert         -> the alert is resolved
- resolved, no open alert      -> nothing to change when an earlier occurrence exists (it is
                                  already resolved: "duplicate"), else a resolved alert is stored
One batch creates at most one alert per identity per round, and none in the round that resolves
the stored open one; the rest of that identity's arrivals wait for the next round, which sees
the rows the first round wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alert_handler.domain.alert import EventKind, IncomingAlert, Outcome, Status
from alert_handler.domain.severity import Severity


@dataclass(slots=True)
class OpenState:
    """What the planner needs to know of an open alert that is already stored."""

    id: int
    status: Status
    severity: Severity


@dataclass(slots=True, eq=False)
class Creation:
    """A row to insert. `id` is filled once the insert returns it."""

    first: IncomingAlert
    previous_id: int | None
    latest: IncomingAlert
    duplicates: int = 0
    resolved_with: IncomingAlert | None = None
    id: int | None = None


@dataclass(slots=True)
class Change:
    """What to change on a stored open alert."""

    id: int
    latest: IncomingAlert | None = None
    duplicates: int = 0
    resolved_by: IncomingAlert | None = None


Target = int | Creation


@dataclass(slots=True)
class Event:
    target: Target
    kind: EventKind
    actor: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Result:
    index: int
    target: Target
    outcome: Outcome
    status: Status


@dataclass(slots=True)
class KeyPlan:
    creation: Creation | None = None
    change: Change | None = None
    events: list[Event] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    consumed: int = 0


def plan_key(
    arrivals: list[tuple[int, IncomingAlert]],
    open_state: OpenState | None,
    previous_id: int | None,
) -> KeyPlan:
    """Fold one identity's arrivals (in order) into one round's changes."""
    plan = KeyPlan()
    # The open alert the next arrival lands on: stored, new in this round, or none.
    current: Target | None = open_state.id if open_state else None
    status = open_state.status if open_state else Status.RESOLVED
    severity = open_state.severity if open_state else None
    previous: Target | None = previous_id
    dup_event: Event | None = None

    for index, alert in arrivals:
        if current is not None and not alert.resolved:
            dup_event = _duplicate(plan, current, alert, severity, dup_event)
            severity = alert.severity
            plan.results.append(Result(index, current, Outcome.DUPLICATE, status))
        elif current is not None:
            _resolve(plan, current, alert)
            plan.events.append(Event(current, EventKind.RESOLVED, alert.actor, {"by": "source"}))
            plan.results.append(Result(index, current, Outcome.RESOLVED, Status.RESOLVED))
            previous, current, status, dup_event = current, None, Status.RESOLVED, None
        elif alert.resolved and previous is not None:
            plan.results.append(Result(index, previous, Outcome.DUPLICATE, Status.RESOLVED))
        elif plan.creation is not None:
            break  # a second new row for this identity: next round
        elif alert.resolved:
            plan.creation = Creation(first=alert, previous_id=None, latest=alert, resolved_with=alert)
            plan.results.append(Result(index, plan.creation, Outcome.RESOLVED, Status.RESOLVED))
            previous = plan.creation
        elif isinstance(previous, Creation):
            break  # the previous occurrence is new in this round: its id is not known yet
        elif plan.change is not None and plan.change.resolved_by is not None:
            break  # the stored alert this round resolves holds the active key until the round is written
        else:
            plan.creation = Creation(first=alert, previous_id=previous, latest=alert)
            if previous is None:
                plan.results.append(Result(index, plan.creation, Outcome.CREATED, Status.FIRING))
            else:
                plan.events.append(Event(plan.creation, EventKind.REOPENED, alert.actor, {"previous_id": previous}))
                plan.results.append(Result(index, plan.creation, Outcome.REOPENED, Status.FIRING))
            current, status, severity, dup_event = plan.creation, Status.FIRING, alert.severity, None
        plan.consumed += 1
    return plan


def _duplicate(
    plan: KeyPlan,
    target: Target,
    alert: IncomingAlert,
    severity: Severity | None,
    dup_event: Event | None,
) -> Event:
    if isinstance(target, Creation):
        target.duplicates += 1
        target.latest = alert
    else:
        change = _change(plan, target)
        change.duplicates += 1
        change.latest = alert
    if severity is not None and alert.severity != severity:
        plan.events.append(
            Event(
                target,
                EventKind.SEVERITY_CHANGED,
                alert.actor,
                {"from": severity.value, "to": alert.severity.value},
            )
        )
    if dup_event is None:
        dup_event = Event(target, EventKind.DUPLICATE, alert.actor, {"count": 0})
        plan.events.append(dup_event)
    dup_event.detail["count"] += 1
    return dup_event


def _resolve(plan: KeyPlan, target: Target, alert: IncomingAlert) -> None:
    if isinstance(target, Creation):
        target.resolved_with = alert
    else:
        _change(plan, target).resolved_by = alert


def _change(plan: KeyPlan, alert_id: int) -> Change:
    if plan.change is None:
        plan.change = Change(alert_id)
    return plan.change


def resolution_time(alert: IncomingAlert, now: datetime) -> datetime:
    """When a resolved arrival says the alert ended: its ends_at if that is past, else now."""
    if alert.ends_at is not None and alert.ends_at <= now:
        return alert.ends_at
    return now
