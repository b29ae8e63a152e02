"""Manual status changes: which are allowed, what they record, and why the rest are refused."""

from __future__ import annotations

import itertools

import pytest

from alert_handler.domain.alert import EventKind, Status
from alert_handler.domain.states import Transition, transition

ALLOWED = {
    (Status.FIRING, Status.ACKNOWLEDGED): EventKind.ACKNOWLEDGED,
    (Status.FIRING, Status.RESOLVED): EventKind.RESOLVED,
    (Status.ACKNOWLEDGED, Status.RESOLVED): EventKind.RESOLVED,
    (Status.ACKNOWLEDGED, Status.FIRING): EventKind.UNACKNOWLEDGED,
}
ALL_PAIRS = list(itertools.product(Status, Status))


@pytest.mark.parametrize(("current", "target"), list(ALLOWED))
def test_allowed_changes_name_their_timeline_event(current: Status, target: Status) -> None:
    decision = transition(current, target)
    assert decision == Transition(True, event=ALLOWED[(current, target)], reason="")


@pytest.mark.parametrize(("current", "target"), [p for p in ALL_PAIRS if p not in ALLOWED])
def test_every_other_change_is_refused_with_a_reason(current: Status, target: Status) -> None:
    decision = transition(current, target)
    assert not decision.allowed
    assert decision.event is None
    assert decision.reason


@pytest.mark.parametrize("status", list(Status))
def test_same_status_is_refused_as_already_there(status: Status) -> None:
    assert transition(status, status).reason == f"alert is already {status.value}"


@pytest.mark.parametrize("target", [Status.FIRING, Status.ACKNOWLEDGED])
def test_resolved_is_final_and_says_a_new_occurrence_follows(target: Status) -> None:
    reason = transition(Status.RESOLVED, target).reason
    assert "resolved" in reason
    assert "new occurrence" in reason


def test_exactly_four_changes_are_allowed() -> None:
    assert sum(transition(a, b).allowed for a, b in ALL_PAIRS) == 4


def test_transition_accepts_plain_status_strings_from_the_database() -> None:
    assert transition(Status("acknowledged"), Status("firing")).event is EventKind.UNACKNOWLEDGED
