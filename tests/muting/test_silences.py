"""Silences: Alertmanager's states, early expiry, validation and matching."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alert_handler.domain.matchers import Matcher, parse_matchers
from alert_handler.muting.silences import (
    Silence,
    SilenceState,
    by_state,
    can_update,
    matches_empty,
    silencing,
    starting_no_earlier_than,
    validate_silence,
)

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def make(
    matchers: str = 'team="db"',
    *,
    sid: str = "s1",
    starts: datetime = T0,
    ends: datetime = T0 + timedelta(hours=1),
    author: str = "ana",
    comment: str = "maintenance",
) -> Silence:
    return Silence(sid, parse_matchers(matchers), starts, ends, author, comment, starts)


def test_state_boundaries_are_alertmanagers() -> None:
    s = make()
    assert s.state(T0 - TICK) is SilenceState.PENDING
    assert s.state(T0) is SilenceState.ACTIVE
    assert s.state(T0 + timedelta(minutes=30)) is SilenceState.ACTIVE
    assert s.state(s.ends_at) is SilenceState.ACTIVE  # ends_at itself is still active
    assert s.state(s.ends_at + TICK) is SilenceState.EXPIRED


def test_state_compares_instants_across_zones() -> None:
    s = make()
    shanghai = T0.astimezone(ZoneInfo("Asia/Shanghai"))
    assert s.state(shanghai - TICK) is SilenceState.PENDING
    assert s.state(shanghai) is SilenceState.ACTIVE


def test_expire_active_ends_now_and_keeps_start() -> None:
    s = make()
    now = T0 + timedelta(minutes=10)
    expired = s.expire(now)
    assert (expired.starts_at, expired.ends_at, expired.updated_at) == (T0, now, now)
    assert expired.state(now + TICK) is SilenceState.EXPIRED
    assert s.ends_at == T0 + timedelta(hours=1)  # the original is unchanged
    assert (expired.id, expired.matchers, expired.comment) == (s.id, s.matchers, s.comment)


def test_expire_pending_sets_start_and_end_to_now() -> None:
    s = make(starts=T0 + timedelta(hours=2), ends=T0 + timedelta(hours=3))
    expired = s.expire(T0)
    assert (expired.starts_at, expired.ends_at, expired.updated_at) == (T0, T0, T0)
    assert expired.state(T0 + TICK) is SilenceState.EXPIRED
    assert not silencing([expired], {"team": "db"}, T0 + timedelta(hours=2, minutes=30))


def test_expire_expired_is_unchanged() -> None:
    s = make()
    later = s.ends_at + timedelta(days=1)
    assert s.expire(later) is s


def test_expire_at_the_end_instant() -> None:
    s = make()
    expired = s.expire(s.ends_at)
    assert expired.ends_at == s.ends_at
    assert expired.updated_at == s.ends_at


@pytest.mark.parametrize(
    ("matchers", "labels", "expected"),
    [
        ('team="db"', {"team": "db"}, True),
        ('team="db"', {"team": "web"}, False),
        ('team="db"', {}, False),
        ('team="db", env=~"prod|stage"', {"team": "db", "env": "stage"}, True),
        ('team="db", env=~"prod|stage"', {"team": "db", "env": "production"}, False),
        ('team="db", env!="dev"', {"team": "db"}, True),
        ('team="db", owner=""', {"team": "db"}, True),
        ('team="db", owner=""', {"team": "db", "owner": "x"}, False),
        ('alertname!~"Watchdog|Info.*"', {"alertname": "InfoInhibitor"}, False),
        ('alertname!~"Watchdog|Info.*"', {"alertname": "DiskFull"}, True),
    ],
)
def test_matches(matchers: str, labels: dict[str, str], expected: bool) -> None:
    assert make(matchers).matches(labels) is expected


def test_silence_without_matchers_matches_nothing() -> None:
    s = dataclasses.replace(make(), matchers=[])
    assert not s.matches({})
    assert not s.matches({"team": "db"})


def test_silencing_returns_active_matching_ids_in_order() -> None:
    now = T0 + timedelta(minutes=5)
    silences = [
        make(sid="active-db"),
        make(sid="pending-db", starts=now + timedelta(minutes=1), ends=now + timedelta(hours=1)),
        make(sid="expired-db", starts=T0 - timedelta(hours=2), ends=T0 - timedelta(hours=1)),
        make('team="web"', sid="active-web"),
        make('severity=~"warn.*"', sid="active-warn"),
    ]
    assert silencing(silences, {"team": "db", "severity": "warning"}, now) == ["active-db", "active-warn"]
    assert silencing(silences, {"team": "web"}, now) == ["active-web"]
    assert silencing(silences, {"team": "ops"}, now) == []
    assert silencing([], {"team": "db"}, now) == []


def test_by_state() -> None:
    now = T0 + timedelta(minutes=5)
    a = make(sid="a")
    p = make(sid="p", starts=now + timedelta(minutes=1))
    e = make(sid="e", starts=T0 - timedelta(hours=2), ends=T0 - timedelta(hours=1))
    assert by_state([a, p, e], SilenceState.ACTIVE, now) == [a]
    assert by_state([a, p, e], SilenceState.PENDING, now) == [p]
    assert by_state([a, p, e], SilenceState.EXPIRED, now) == [e]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a=""', True),
        ('a="x"', False),
        ('a=~".*"', True),
        ('a=~"x|"', True),
        ('a=~"x*"', True),
        ('a=~".+"', False),
        ('a!=""', False),
        ('a!="x"', False),  # Alertmanager: negative matchers never count as matching empty
        ('a!~".+"', False),
    ],
)
def test_matches_empty(text: str, expected: bool) -> None:
    assert matches_empty(parse_matchers(text)[0]) is expected


def test_valid_silence_has_no_errors() -> None:
    assert validate_silence(make()) == []
    assert validate_silence(make('a!="x"')) == []  # only negative matchers: accepted, as Alertmanager does
    assert validate_silence(make('a=~".*", b="1"')) == []
    assert validate_silence(make(ends=T0)) == []  # equal ends: the core allows it


@pytest.mark.parametrize(
    ("silence", "message"),
    [
        (dataclasses.replace(make(), matchers=[]), "matchers: at least one matcher is required"),
        (make('a=""'), "matchers: at least one matcher must not match the empty string"),
        (make('a=~".*", b=""'), "matchers: at least one matcher must not match the empty string"),
        (make(ends=T0 - TICK), "ends_at: must not be before starts_at"),
        (make(author=""), "created_by: is required"),
        (make(author="  "), "created_by: is required"),
        (make(comment=""), "comment: is required"),
        (make(starts=datetime(2026, 1, 1), ends=datetime(2026, 1, 2)), "starts_at: must carry a time zone"),
    ],
)
def test_invalid_silence(silence: Silence, message: str) -> None:
    errors = validate_silence(silence)
    assert any(e.startswith(message) for e in errors), errors


def test_validation_reports_every_problem() -> None:
    bad = Silence("x", parse_matchers('a=""'), T0, T0 - TICK, "", "", T0)
    assert len(validate_silence(bad)) == 4


def test_validation_with_now_as_the_api_does() -> None:
    now = T0 + timedelta(hours=2)
    assert validate_silence(make(), now=now) == ["ends_at: must not be in the past"]
    assert validate_silence(make(ends=T0), now=T0) == ["ends_at: must be after starts_at"]
    assert validate_silence(make(), now=T0) == []
    assert validate_silence(make(starts=T0 - timedelta(days=1)), now=T0) == []


matcher_st = st.builds(
    lambda name, op, value: Matcher.create(name, op, value),
    st.sampled_from(["team", "env", "severity"]),
    st.sampled_from(["=", "!="]),
    st.sampled_from(["", "db", "prod", "critical"]),
)
labels_st = st.dictionaries(st.sampled_from(["team", "env", "severity"]), st.sampled_from(["db", "prod", "critical"]))
offset_st = st.integers(min_value=-10_000, max_value=10_000).map(lambda s: timedelta(seconds=s))


@given(offset_st, st.integers(min_value=0, max_value=10_000), offset_st)
def test_exactly_one_state_and_ordering(start: timedelta, length: int, at: timedelta) -> None:
    s = make(starts=T0 + start, ends=T0 + start + timedelta(seconds=length))
    now = T0 + at
    state = s.state(now)
    assert (state is SilenceState.ACTIVE) == (s.starts_at <= now <= s.ends_at)
    assert (state is SilenceState.PENDING) == (now < s.starts_at)


@given(offset_st, st.integers(min_value=0, max_value=10_000), offset_st)
def test_expired_silence_never_silences_again(start: timedelta, length: int, at: timedelta) -> None:
    s = make(starts=T0 + start, ends=T0 + start + timedelta(seconds=length))
    now = T0 + at
    expired = s.expire(now)
    assert expired.ends_at <= max(now, s.ends_at)
    assert expired.starts_at <= expired.ends_at
    for later in (now + TICK, now + timedelta(hours=5), now + timedelta(days=400)):
        assert expired.state(later) is SilenceState.EXPIRED
        assert silencing([expired], {"team": "db"}, later) == []
    assert expired.expire(now + TICK) == expired.expire(now + TICK).expire(now + timedelta(hours=1))


@given(st.lists(matcher_st, min_size=1, max_size=4), labels_st)
def test_silencing_agrees_with_matchers(matchers: list[Matcher], labels: dict[str, str]) -> None:
    s = Silence("p", matchers, T0, T0 + timedelta(hours=1), "a", "c", T0)
    expected = all(m.matches(labels.get(m.name, "")) for m in matchers)
    assert (silencing([s], labels, T0) == ["p"]) is expected
    assert silencing([s], labels, T0 - TICK) == []


def test_can_update_active_silence() -> None:
    old = make()
    now = T0 + timedelta(minutes=10)
    assert can_update(old, make(ends=T0 + timedelta(hours=5)), now)  # extend
    assert can_update(old, make(ends=now), now)  # shorten to now
    assert can_update(old, make(comment="other", author="bo"), now)
    assert can_update(old, make(starts=T0 + timedelta(milliseconds=300)), now)  # same second
    assert not can_update(old, make(ends=now - TICK), now)  # would end in the past
    assert not can_update(old, make(starts=T0 + timedelta(seconds=1)), now)  # start moved
    assert not can_update(old, make('team="web"'), now)  # matchers changed
    assert not can_update(old, make('team="db", env="prod"'), now)


def test_can_update_pending_silence() -> None:
    old = make(starts=T0 + timedelta(hours=1), ends=T0 + timedelta(hours=2))
    assert can_update(old, make(starts=T0 + timedelta(minutes=30), ends=T0 + timedelta(hours=2)), T0)
    assert can_update(old, make(starts=T0, ends=T0 + timedelta(hours=2)), T0)
    assert not can_update(old, make(starts=T0 - TICK, ends=T0 + timedelta(hours=2)), T0)
    assert not can_update(old, make('team="web"', starts=T0 + timedelta(hours=1)), T0)


def test_expired_silence_is_never_updated_in_place() -> None:
    old = make()
    assert not can_update(old, old, old.ends_at + TICK)


def test_new_silence_starting_in_the_past_starts_now() -> None:
    now = T0 + timedelta(minutes=5)
    moved = starting_no_earlier_than(make(), now)
    assert (moved.starts_at, moved.ends_at, moved.updated_at) == (now, T0 + timedelta(hours=1), now)
    future = make(starts=T0 + timedelta(hours=1), ends=T0 + timedelta(hours=2))
    kept = starting_no_earlier_than(future, now)
    assert (kept.starts_at, kept.updated_at) == (future.starts_at, now)
