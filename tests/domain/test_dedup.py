"""De-duplication as a pure decision: `plan_key` over every case, and `resolution_time`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alert_handler.domain.alert import EventKind, IncomingAlert, Outcome, Status
from alert_handler.domain.dedup import Change, Creation, Event, OpenState, Result, plan_key, resolution_time
from alert_handler.domain.severity import Severity

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def alert(*, resolved: bool = False, severity: Severity = Severity.WARNING, **fields: Any) -> IncomingAlert:
    values: dict[str, Any] = {"tenant": "default", "fingerprint": "fp", "source": "s", "title": "t", "actor": "a"}
    values.update(fields)
    return IncomingAlert(severity=severity, resolved=resolved, **values)


def firing(**fields: Any) -> IncomingAlert:
    return alert(**fields)


def resolved(**fields: Any) -> IncomingAlert:
    return alert(resolved=True, **fields)


def indexed(*alerts: IncomingAlert) -> list[tuple[int, IncomingAlert]]:
    return list(enumerate(alerts))


def kinds(events: list[Event]) -> list[EventKind]:
    return [e.kind for e in events]


def test_no_arrivals_plan_nothing() -> None:
    plan = plan_key([], None, None)
    assert (plan.creation, plan.change, plan.events, plan.results, plan.consumed) == (None, None, [], [], 0)


class TestSingleArrival:
    def test_firing_with_nothing_stored_is_created(self) -> None:
        a = firing()
        plan = plan_key(indexed(a), None, None)
        assert isinstance(plan.creation, Creation)
        assert plan.creation.first is a and plan.creation.latest is a
        assert plan.creation.previous_id is None
        assert plan.creation.duplicates == 0
        assert plan.creation.resolved_with is None
        assert plan.change is None
        assert plan.events == []
        assert plan.results == [Result(0, plan.creation, Outcome.CREATED, Status.FIRING)]
        assert plan.consumed == 1

    def test_firing_on_an_open_alert_is_a_duplicate(self) -> None:
        a = firing(severity=Severity.HIGH, actor="api-key:prom")
        plan = plan_key(indexed(a), OpenState(7, Status.FIRING, Severity.HIGH), 3)
        assert plan.creation is None
        assert plan.change == Change(7, latest=a, duplicates=1)
        assert plan.events == [Event(7, EventKind.DUPLICATE, "api-key:prom", {"count": 1})]
        assert plan.results == [Result(0, 7, Outcome.DUPLICATE, Status.FIRING)]
        assert plan.consumed == 1

    def test_duplicate_keeps_the_acknowledged_status(self) -> None:
        plan = plan_key(indexed(firing()), OpenState(7, Status.ACKNOWLEDGED, Severity.WARNING), None)
        assert plan.results == [Result(0, 7, Outcome.DUPLICATE, Status.ACKNOWLEDGED)]
        assert plan.change is not None and plan.change.resolved_by is None

    def test_severity_change_on_a_duplicate_is_its_own_event(self) -> None:
        a = firing(severity=Severity.CRITICAL)
        plan = plan_key(indexed(a), OpenState(7, Status.FIRING, Severity.WARNING), None)
        assert plan.change is not None and plan.change.latest is a
        assert plan.events == [
            Event(7, EventKind.SEVERITY_CHANGED, "a", {"from": "warning", "to": "critical"}),
            Event(7, EventKind.DUPLICATE, "a", {"count": 1}),
        ]

    def test_severity_going_down_is_recorded_too(self) -> None:
        plan = plan_key(indexed(firing(severity=Severity.INFO)), OpenState(7, Status.FIRING, Severity.HIGH), None)
        assert [e.detail for e in plan.events if e.kind is EventKind.SEVERITY_CHANGED] == [
            {"from": "high", "to": "info"}
        ]

    def test_resolved_on_an_open_alert_resolves_it(self) -> None:
        r = resolved(actor="api-key:am")
        plan = plan_key(indexed(r), OpenState(7, Status.ACKNOWLEDGED, Severity.HIGH), None)
        assert plan.creation is None
        assert plan.change == Change(7, resolved_by=r)
        assert plan.events == [Event(7, EventKind.RESOLVED, "api-key:am", {"by": "source"})]
        assert plan.results == [Result(0, 7, Outcome.RESOLVED, Status.RESOLVED)]

    def test_resolved_for_an_unknown_alert_stores_it_resolved(self) -> None:
        r = resolved()
        plan = plan_key(indexed(r), None, None)
        assert isinstance(plan.creation, Creation)
        assert plan.creation.resolved_with is r
        assert plan.creation.previous_id is None
        assert plan.events == []
        assert plan.results == [Result(0, plan.creation, Outcome.RESOLVED, Status.RESOLVED)]

    def test_resolved_for_an_already_resolved_alert_is_a_duplicate_of_it(self) -> None:
        plan = plan_key(indexed(resolved()), None, 5)
        assert plan.creation is None and plan.change is None and plan.events == []
        assert plan.results == [Result(0, 5, Outcome.DUPLICATE, Status.RESOLVED)]
        assert plan.consumed == 1

    def test_firing_after_resolution_reopens_linked_to_the_previous(self) -> None:
        a = firing(actor="api-key:x")
        plan = plan_key(indexed(a), None, 5)
        assert isinstance(plan.creation, Creation)
        assert plan.creation.previous_id == 5
        assert plan.events == [Event(plan.creation, EventKind.REOPENED, "api-key:x", {"previous_id": 5})]
        assert plan.results == [Result(0, plan.creation, Outcome.REOPENED, Status.FIRING)]


class TestSeveralArrivals:
    def test_duplicates_of_a_new_alert_coalesce_into_one_counted_event(self) -> None:
        arrivals = [firing(title=f"t{i}") for i in range(4)]
        plan = plan_key(indexed(*arrivals), None, None)
        creation = plan.creation
        assert isinstance(creation, Creation)
        assert creation.first is arrivals[0] and creation.latest is arrivals[3]
        assert creation.duplicates == 3
        assert plan.events == [Event(creation, EventKind.DUPLICATE, "a", {"count": 3})]
        assert [r.outcome for r in plan.results] == [Outcome.CREATED] + [Outcome.DUPLICATE] * 3
        assert all(r.target is creation for r in plan.results)
        assert plan.consumed == 4

    def test_duplicates_of_a_stored_alert_coalesce_into_one_counted_event(self) -> None:
        arrivals = [firing(metadata={"n": i}) for i in range(5)]
        plan = plan_key(indexed(*arrivals), OpenState(9, Status.FIRING, Severity.WARNING), None)
        assert plan.change is not None
        assert plan.change.duplicates == 5
        assert plan.change.latest is arrivals[-1]
        assert plan.events == [Event(9, EventKind.DUPLICATE, "a", {"count": 5})]
        assert [r.index for r in plan.results] == [0, 1, 2, 3, 4]

    def test_each_severity_change_is_recorded_once_and_duplicates_still_coalesce(self) -> None:
        severities = [Severity.WARNING, Severity.CRITICAL, Severity.CRITICAL, Severity.INFO]
        plan = plan_key(indexed(*(firing(severity=s) for s in severities)), None, None)
        creation = plan.creation
        assert isinstance(creation, Creation)
        assert creation.latest.severity is Severity.INFO
        assert plan.events == [
            Event(creation, EventKind.SEVERITY_CHANGED, "a", {"from": "warning", "to": "critical"}),
            Event(creation, EventKind.DUPLICATE, "a", {"count": 3}),
            Event(creation, EventKind.SEVERITY_CHANGED, "a", {"from": "critical", "to": "info"}),
        ]

    def test_severity_of_a_stored_alert_follows_the_last_arrival(self) -> None:
        arrivals = indexed(firing(severity=Severity.CRITICAL), firing(severity=Severity.WARNING))
        plan = plan_key(arrivals, OpenState(9, Status.FIRING, Severity.WARNING), None)
        assert plan.change is not None and plan.change.latest is arrivals[1][1]
        changes = [e.detail for e in plan.events if e.kind is EventKind.SEVERITY_CHANGED]
        assert changes == [{"from": "warning", "to": "critical"}, {"from": "critical", "to": "warning"}]

    def test_created_resolved_and_firing_again_defers_the_reopen_to_the_next_round(self) -> None:
        first, end, again = firing(), resolved(), firing()
        plan = plan_key(indexed(first, end, again), None, None)
        creation = plan.creation
        assert isinstance(creation, Creation)
        assert creation.resolved_with is end
        assert plan.events == [Event(creation, EventKind.RESOLVED, "a", {"by": "source"})]
        assert plan.results == [
            Result(0, creation, Outcome.CREATED, Status.FIRING),
            Result(1, creation, Outcome.RESOLVED, Status.RESOLVED),
        ]
        assert plan.consumed == 2  # `again` waits: the new row's id is not known yet

        creation.id = 41  # what the insert returned
        following = plan_key([(2, again)], None, creation.id)
        assert isinstance(following.creation, Creation)
        assert following.creation.previous_id == 41
        assert following.results == [Result(2, following.creation, Outcome.REOPENED, Status.FIRING)]

    def test_unknown_resolved_then_firing_defers_the_firing(self) -> None:
        plan = plan_key(indexed(resolved(), firing()), None, None)
        assert isinstance(plan.creation, Creation)
        assert [r.outcome for r in plan.results] == [Outcome.RESOLVED]
        assert plan.consumed == 1

    def test_unknown_resolved_twice_is_one_row_then_a_duplicate(self) -> None:
        plan = plan_key(indexed(resolved(), resolved()), None, None)
        creation = plan.creation
        assert isinstance(creation, Creation)
        assert plan.results == [
            Result(0, creation, Outcome.RESOLVED, Status.RESOLVED),
            Result(1, creation, Outcome.DUPLICATE, Status.RESOLVED),
        ]
        assert plan.consumed == 2

    def test_stored_open_alert_resolved_twice(self) -> None:
        plan = plan_key(indexed(resolved(), resolved()), OpenState(7, Status.FIRING, Severity.HIGH), 3)
        assert plan.results == [
            Result(0, 7, Outcome.RESOLVED, Status.RESOLVED),
            Result(1, 7, Outcome.DUPLICATE, Status.RESOLVED),
        ]
        assert kinds(plan.events) == [EventKind.RESOLVED]

    def test_duplicate_then_resolve_of_a_stored_alert(self) -> None:
        dup, end = firing(severity=Severity.HIGH), resolved()
        plan = plan_key(indexed(dup, end), OpenState(7, Status.FIRING, Severity.HIGH), None)
        assert plan.change == Change(7, latest=dup, duplicates=1, resolved_by=end)
        assert kinds(plan.events) == [EventKind.DUPLICATE, EventKind.RESOLVED]
        assert [r.outcome for r in plan.results] == [Outcome.DUPLICATE, Outcome.RESOLVED]
        assert plan.consumed == 2

    def test_firing_after_resolving_a_stored_alert_waits_for_the_next_round(self) -> None:
        # The stored row keeps its active key until this round's update is written, so a new
        # row for the same identity cannot be inserted in the same round.
        end, again = resolved(), firing()
        plan = plan_key(indexed(end, again), OpenState(7, Status.FIRING, Severity.HIGH), None)
        assert plan.creation is None
        assert plan.change is not None and plan.change.resolved_by is end
        assert plan.results == [Result(0, 7, Outcome.RESOLVED, Status.RESOLVED)]
        assert plan.consumed == 1

        following = plan_key([(1, again)], None, 7)
        assert isinstance(following.creation, Creation)
        assert following.creation.previous_id == 7
        assert following.results == [Result(1, following.creation, Outcome.REOPENED, Status.FIRING)]

    def test_duplicate_event_restarts_after_a_resolution(self) -> None:
        plan = plan_key(indexed(firing(), firing(), resolved(), resolved()), None, None)
        creation = plan.creation
        assert isinstance(creation, Creation)
        assert creation.duplicates == 1
        assert plan.events == [
            Event(creation, EventKind.DUPLICATE, "a", {"count": 1}),
            Event(creation, EventKind.RESOLVED, "a", {"by": "source"}),
        ]
        assert [r.outcome for r in plan.results] == [
            Outcome.CREATED,
            Outcome.DUPLICATE,
            Outcome.RESOLVED,
            Outcome.DUPLICATE,
        ]
        assert [r.status for r in plan.results] == [Status.FIRING, Status.FIRING, Status.RESOLVED, Status.RESOLVED]

    def test_result_indexes_are_the_batch_positions(self) -> None:
        plan = plan_key([(4, firing()), (9, firing()), (12, resolved())], None, None)
        assert [r.index for r in plan.results] == [4, 9, 12]

    def test_every_arrival_is_answered_or_left_for_later(self) -> None:
        sequence = [False, True, True, False, False, True, False]
        arrivals = indexed(*(alert(resolved=r) for r in sequence))
        state: OpenState | None = OpenState(1, Status.FIRING, Severity.WARNING)
        previous: int | None = None
        answered: list[int] = []
        next_id = 100
        while arrivals:
            plan = plan_key(arrivals, state, previous)
            assert plan.consumed >= 1
            assert [r.index for r in plan.results] == [i for i, _ in arrivals[: plan.consumed]]
            answered += [r.index for r in plan.results]
            # What the store would see next round.
            if plan.creation is not None:
                plan.creation.id = next_id
                next_id += 1
            last = plan.results[-1]
            last_id = last.target if isinstance(last.target, int) else last.target.id
            state = OpenState(last_id, last.status, Severity.WARNING) if last.status is not Status.RESOLVED else None
            previous = last_id
            arrivals = arrivals[plan.consumed :]
        assert answered == list(range(len(sequence)))


class TestResolutionTime:
    def test_a_past_ends_at_is_kept(self) -> None:
        ended = NOW - timedelta(minutes=5)
        assert resolution_time(resolved(ends_at=ended), NOW) == ended

    def test_ends_at_equal_to_now_is_kept(self) -> None:
        assert resolution_time(resolved(ends_at=NOW), NOW) == NOW

    def test_a_future_ends_at_becomes_now(self) -> None:
        assert resolution_time(resolved(ends_at=NOW + timedelta(hours=1)), NOW) == NOW

    def test_no_ends_at_is_now(self) -> None:
        assert resolution_time(resolved(), NOW) == NOW
