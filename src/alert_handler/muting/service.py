"""Making and changing silences from what a person asked for: defaults, checks, then the store.

Shared by the API and the CLI; it takes the caller's connection and imports no web framework.
A request that cannot become a valid silence raises `InvalidInput` naming each field
(`matchers[0]`, `ends_at`, ...), with locations under `body` as the API reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.domain.matchers import Matcher, MatcherError, parse_matcher
from alert_handler.errors import InvalidInput
from alert_handler.muting.silences import Silence, starting_no_earlier_than, validate_silence
from alert_handler.routing.durations import DurationError, parse_duration
from alert_handler.store import silences as store

_LATEST_YEAR = 9000  # every backend stores it, and no time zone pushes it out of range


@dataclass(frozen=True, slots=True)
class SilenceDraft:
    """A silence as asked for. Its end is `ends_at`, or `duration` (Alertmanager's syntax, e.g.
    `2h`) counted from the start, or from now when the start is past. A missing start means now
    for a new silence and the current start for a changed one."""

    matchers: list[str]
    created_by: str
    comment: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration: str | None = None


def _error(loc: list[str | int], msg: str) -> dict[str, object]:
    return {"loc": ["body", *loc], "msg": msg, "type": "value_error"}


def _matchers(texts: list[str], errors: list[dict[str, object]]) -> list[Matcher]:
    parsed = []
    for index, text in enumerate(texts):
        try:
            parsed.append(parse_matcher(text))
        except MatcherError as exc:
            errors.append(_error(["matchers", index], str(exc)))
    return parsed


def _ends_at(draft: SilenceDraft, start: datetime, now: datetime, errors: list[dict[str, object]]) -> datetime | None:
    if draft.ends_at is not None and draft.duration is not None:
        errors.append(_error(["duration"], "give ends_at or duration, not both"))
        return None
    if draft.ends_at is not None:
        return draft.ends_at
    if draft.duration is None:
        errors.append(_error(["ends_at"], "required: give ends_at or duration"))
        return None
    try:
        ends_at = max(start, now) + parse_duration(draft.duration)
    except DurationError as exc:
        errors.append(_error(["duration"], str(exc)))
        return None
    except OverflowError:
        ends_at = datetime.max
    if ends_at.year > _LATEST_YEAR:
        errors.append(_error(["duration"], f"too long: the silence would end after the year {_LATEST_YEAR}"))
        return None
    return ends_at


def _utc(value: datetime) -> datetime:
    """In UTC, as stored; a naive time stays naive, for `validate_silence` to refuse."""
    return value.astimezone(UTC) if value.tzinfo is not None else value


def build_silence(draft: SilenceDraft, *, silence_id: str, default_start: datetime, now: datetime) -> Silence:
    """The silence `draft` asks for, checked as Alertmanager's API checks a new or changed one."""
    errors: list[dict[str, object]] = []
    matchers = _matchers(draft.matchers, errors)
    start = draft.starts_at or default_start
    ends_at = _ends_at(draft, start, now, errors)
    if errors or ends_at is None:
        raise InvalidInput(errors)
    silence = Silence(
        id=silence_id,
        matchers=matchers,
        starts_at=_utc(start),
        ends_at=_utc(ends_at),
        created_by=draft.created_by,
        comment=draft.comment,
        updated_at=now,
    )
    problems = validate_silence(silence, now=now)
    if problems:
        raise InvalidInput([_error([field], why) for field, _, why in (p.partition(": ") for p in problems)])
    return silence


async def create_silence(conn: AsyncConnection, tenant: str, draft: SilenceDraft, now: datetime) -> Silence:
    """A new silence (a start in the past moves to now, as in Alertmanager)."""
    silence = build_silence(draft, silence_id=store.new_id(), default_start=now, now=now)
    return await store.create(conn, starting_no_earlier_than(silence, now), tenant)


async def update_silence(
    conn: AsyncConnection, tenant: str, silence_id: str, draft: SilenceDraft, now: datetime
) -> Silence | None:
    """Change a silence with Alertmanager's rules (`store.update`): the answer is the silence now
    in use, which has a new id when the change could not be made in place. None: no such silence."""
    old = await store.get(conn, tenant, silence_id, lock=True)
    if old is None:
        return None
    new = build_silence(draft, silence_id=old.id, default_start=old.starts_at, now=now)
    return await store.update(conn, tenant, old, new, now)
