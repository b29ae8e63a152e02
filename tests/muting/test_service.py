"""build_silence: defaults, the end from a duration, UTC, and errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from alert_handler.errors import InvalidInput
from alert_handler.muting.service import SilenceDraft, build_silence
from alert_handler.muting.silences import Silence

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def draft(**fields: object) -> SilenceDraft:
    values: dict[str, object] = {"matchers": ['alertname="X"'], "created_by": "alice", "comment": "why"}
    values.update(fields)
    return SilenceDraft(**values)  # type: ignore[arg-type]


def build(made: SilenceDraft, default_start: datetime = NOW) -> Silence:
    return build_silence(made, silence_id="s1", default_start=default_start, now=NOW)


def locs(made: SilenceDraft) -> list[tuple[object, ...]]:
    with pytest.raises(InvalidInput) as caught:
        build(made)
    return [tuple(e["loc"]) for e in caught.value.errors]  # type: ignore[arg-type]


def test_duration_counts_from_the_start() -> None:
    later = NOW + timedelta(hours=1)
    silence = build(draft(starts_at=later, duration="30m"))
    assert (silence.starts_at, silence.ends_at) == (later, later + timedelta(minutes=30))


def test_duration_counts_from_now_when_the_start_is_past() -> None:
    silence = build(draft(duration="2h"), default_start=NOW - timedelta(days=1))
    assert silence.starts_at == NOW - timedelta(days=1)  # the store moves a new one's start to now
    assert silence.ends_at == NOW + timedelta(hours=2)


def test_times_are_in_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    silence = build(draft(ends_at=datetime(2026, 3, 2, 8, 0, tzinfo=shanghai)))
    assert silence.ends_at == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    assert silence.ends_at.utcoffset() == timedelta(0)
    assert silence.updated_at == NOW


def test_every_bad_matcher_is_named() -> None:
    assert locs(draft(matchers=["a", 'b="1"', "c=~("], duration="1h")) == [
        ("body", "matchers", 0),
        ("body", "matchers", 2),
    ]


def test_end_errors() -> None:
    assert locs(draft()) == [("body", "ends_at")]
    assert locs(draft(duration="1h", ends_at=NOW + timedelta(hours=1))) == [("body", "duration")]
    assert locs(draft(duration="soon")) == [("body", "duration")]
    assert locs(draft(duration="99999999999999y")) == [("body", "duration")]
    assert set(locs(draft(ends_at=NOW - timedelta(seconds=1)))) == {("body", "ends_at")}  # before start, past


def test_a_naive_time_is_refused_not_guessed() -> None:
    assert ("body", "ends_at") in locs(draft(ends_at=datetime(2026, 3, 2, 8, 0)))


def test_domain_checks_name_their_field() -> None:
    assert locs(draft(matchers=['team=""'], comment=" ", duration="1h")) == [
        ("body", "matchers"),
        ("body", "comment"),
    ]
