"""Silences with Alertmanager's semantics.

A silence mutes every alert whose labels satisfy all of its matchers while it is active.
Its state at an instant `now` is, exactly as Alertmanager's `getState`:

- pending: `now < starts_at`;
- expired: `now > ends_at`;
- active otherwise, both ends included (a silence is still active at `now == ends_at`).

Expiring early (`expire`) follows Alertmanager too: an active silence ends now; a pending one
gets both its start and its end set to now (it never silenced anything); an expired one is
returned unchanged. Either way it is expired from the next instant on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from alert_handler.domain.matchers import Matcher, MatchOp, matches_all


class SilenceState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: list[Matcher]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    updated_at: datetime

    def state(self, now: datetime) -> SilenceState:
        if now < self.starts_at:
            return SilenceState.PENDING
        if now > self.ends_at:
            return SilenceState.EXPIRED
        return SilenceState.ACTIVE

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every matcher matches `labels` (an absent label has the value "")."""
        return bool(self.matchers) and matches_all(self.matchers, labels)

    def is_active(self, now: datetime) -> bool:
        return self.state(now) is SilenceState.ACTIVE

    def expire(self, now: datetime) -> Silence:
        """The silence expired at `now` (a new value; this one is unchanged)."""
        state = self.state(now)
        if state is SilenceState.EXPIRED:
            return self
        if state is SilenceState.ACTIVE:
            return dataclasses.replace(self, ends_at=now, updated_at=now)
        return dataclasses.replace(self, starts_at=now, ends_at=now, updated_at=now)


def matches_empty(matcher: Matcher) -> bool:
    """Alertmanager's `matchesEmpty`: an `=` or `=~` matcher that the empty string satisfies.

    `!=` and `!~` never count, even when "" satisfies them (`team!="db"`): Alertmanager accepts
    a silence made only of negative matchers, and so does this.
    """
    if matcher.op in (MatchOp.EQ, MatchOp.RE):
        return matcher.matches("")
    return False


def validate_silence(silence: Silence, *, now: datetime | None = None) -> list[str]:
    """What is wrong with `silence`, as messages naming the field; empty when it is valid.

    Always checked (Alertmanager's `validateSilence` and its API's required fields): at least one
    matcher; not every matcher matching the empty string (the silence would match every alert);
    time-zone-aware times; `ends_at` not before `starts_at`; a non-blank author and comment.
    With `now` (a silence being created or changed through the API), also as Alertmanager's API
    does: `ends_at` strictly after `starts_at`, and `ends_at` not in the past.
    """
    errors: list[str] = []
    if not silence.matchers:
        errors.append("matchers: at least one matcher is required")
    elif all(matches_empty(m) for m in silence.matchers):
        errors.append("matchers: at least one matcher must not match the empty string (it would silence every alert)")
    aware = True
    for name in ("starts_at", "ends_at", "updated_at"):
        value: datetime = getattr(silence, name)
        if value.tzinfo is None or value.utcoffset() is None:
            errors.append(f"{name}: must carry a time zone")
            aware = False
    if aware:
        if silence.ends_at < silence.starts_at:
            errors.append("ends_at: must not be before starts_at")
        elif now is not None and silence.ends_at == silence.starts_at:
            errors.append("ends_at: must be after starts_at")
        if now is not None and silence.ends_at < now:
            errors.append("ends_at: must not be in the past")
    if not silence.created_by.strip():
        errors.append("created_by: is required")
    if not silence.comment.strip():
        errors.append("comment: is required")
    return errors


def can_update(old: Silence, new: Silence, now: datetime) -> bool:
    """Whether `old` may be changed into `new` in place (Alertmanager's `canUpdate`).

    In place only when the history of what was silenced stays true: the same matchers, and
    - an active silence keeps its start (compared to the second) and does not end in the past;
    - a pending silence does not start in the past;
    - an expired silence never changes.
    Otherwise the caller expires `old` (if not yet expired) and stores `new` as a new silence.
    """
    if list(old.matchers) != list(new.matchers):
        return False
    state = old.state(now)
    if state is SilenceState.ACTIVE:
        return int(old.starts_at.timestamp()) == int(new.starts_at.timestamp()) and new.ends_at >= now
    if state is SilenceState.PENDING:
        return new.starts_at >= now
    return False


def starting_no_earlier_than(silence: Silence, now: datetime) -> Silence:
    """A new silence as Alertmanager stores it: a start in the past moves to `now`; updated now."""
    return dataclasses.replace(silence, starts_at=max(silence.starts_at, now), updated_at=now)


def silencing(silences: Iterable[Silence], labels: Mapping[str, str], now: datetime) -> list[str]:
    """Ids of the silences active at `now` that match `labels`, in the order given."""
    return [s.id for s in silences if s.is_active(now) and s.matches(labels)]


def by_state(silences: Sequence[Silence], state: SilenceState, now: datetime) -> list[Silence]:
    """The silences in `state` at `now`, in the order given."""
    return [s for s in silences if s.state(now) is state]
