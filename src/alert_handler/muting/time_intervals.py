"""Alertmanager's time intervals: when a route is muted (or active).

A named time interval is a list of periods; it contains an instant when any period does. A
period contains it when every field it sets matches (an absent field matches anything), after
converting the instant to the period's `location` (an IANA zone; UTC by default):

- `times`: `{start_time: "HH:MM", end_time: "HH:MM"}` ranges of the wall-clock minute, start
  included, end excluded, `24:00` allowed as an end; seconds are ignored, as in Alertmanager;
- `weekdays`: `monday`, `monday:friday` (inclusive; a range cannot wrap past saturday);
- `days_of_month`: `1`, `1:5`, `-1` (the last day), `-3:-1`; out-of-month ends are clamped;
- `months`: `january`, `1`, `march:may`, `3:5`; `years`: `2024`, `2024:2026`.

Parsing takes the plain dicts of the YAML shape and raises `ValueError` naming the interval and
the field, e.g. `time interval "office": time_intervals[0].weekdays[1]: ...`.
One deliberate difference: Alertmanager counts a month's days as its length in hours / 24, which
gives 30 for a month with a DST change in the zone; here a month has its calendar days.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_T = TypeVar("_T")
WEEKDAYS = {d: i for i, d in enumerate(("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"))}
MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_TIME = re.compile(r"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")
UTC_ZONE = ZoneInfo("UTC")
_FIELDS = ("times", "weekdays", "days_of_month", "months", "years", "location")


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Minutes of the day, `start_minute` included, `end_minute` excluded (1440 = 24:00)."""

    start_minute: int
    end_minute: int


@dataclass(frozen=True, slots=True)
class InclusiveRange:
    begin: int
    end: int


@dataclass(frozen=True, slots=True)
class TimePeriod:
    """One entry of a time interval; `None` means the field was not set (matches anything).

    `weekdays` count from sunday = 0, as in Alertmanager.
    """

    times: tuple[TimeRange, ...] | None = None
    weekdays: tuple[InclusiveRange, ...] | None = None
    days_of_month: tuple[InclusiveRange, ...] | None = None
    months: tuple[InclusiveRange, ...] | None = None
    years: tuple[InclusiveRange, ...] | None = None
    location: ZoneInfo = UTC_ZONE

    def contains(self, now: datetime) -> bool:
        t = _aware(now).astimezone(self.location)
        minute = t.hour * 60 + t.minute
        if self.times is not None and not any(r.start_minute <= minute < r.end_minute for r in self.times):
            return False
        if self.days_of_month is not None and not any(_day_in(r, t) for r in self.days_of_month):
            return False
        if self.months is not None and not any(r.begin <= t.month <= r.end for r in self.months):
            return False
        weekday = (t.weekday() + 1) % 7
        if self.weekdays is not None and not any(r.begin <= weekday <= r.end for r in self.weekdays):
            return False
        return self.years is None or any(r.begin <= t.year <= r.end for r in self.years)


@dataclass(frozen=True, slots=True)
class TimeInterval:
    name: str
    periods: tuple[TimePeriod, ...]

    def contains(self, now: datetime) -> bool:
        return any(p.contains(now) for p in self.periods)


def contains(interval: TimeInterval, now: datetime) -> bool:
    """True when `now` (time-zone-aware) falls in any period of `interval`."""
    return interval.contains(now)


def muted_by_time(
    intervals: Mapping[str, TimeInterval], mute: Sequence[str], active: Sequence[str], now: datetime
) -> str | None:
    """Why a route's time intervals mute it at `now`, or None (Alertmanager's time mute/active stages).

    Muted when `now` is in any of `mute`, or when `active` is set and `now` is in none of them.
    A name missing from `intervals` is a configuration error: ValueError (config checks catch it).
    """

    def lookup(name: str) -> TimeInterval:
        if name not in intervals:
            raise ValueError(f"time interval {name!r} is not defined")
        return intervals[name]

    for name in mute:
        if lookup(name).contains(now):
            return f"mute_time_intervals: in {name!r}"
    if active and not any(lookup(name).contains(now) for name in active):
        return f"active_time_intervals: outside {', '.join(repr(n) for n in active)}"
    return None


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("a time interval needs a time-zone-aware datetime")
    return now


def _day_in(r: InclusiveRange, t: datetime) -> bool:
    days = calendar.monthrange(t.year, t.month)[1]
    begin = days + r.begin + 1 if r.begin < 0 else r.begin
    end = days + r.end + 1 if r.end < 0 else r.end
    # Alertmanager skips a range that begins after the month's last day, then clamps both ends to
    # the month; clamping cannot change the comparison below, so it is left out.
    return begin <= days and begin <= t.day <= end


def parse_time_interval(name: str, ranges: Sequence[Mapping[str, Any]]) -> TimeInterval:
    """Parse Alertmanager's `time_intervals` list of one named interval; ValueError names the field."""
    where = f"time interval {name!r}"
    if not name:
        raise ValueError("time interval: name is required")
    if not isinstance(ranges, Sequence) or isinstance(ranges, str):
        raise ValueError(f"{where}: time_intervals must be a list")
    return TimeInterval(name, tuple(_parse_period(f"{where}: time_intervals[{i}]", p) for i, p in enumerate(ranges)))


def parse_time_intervals(items: Sequence[Mapping[str, Any]]) -> dict[str, TimeInterval]:
    """Parse the top-level `time_intervals:` list (`{name, time_intervals}` items) by name."""
    parsed: dict[str, TimeInterval] = {}
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or set(item) - {"name", "time_intervals"}:
            raise ValueError(f"time_intervals[{i}]: expected a mapping with name and time_intervals")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"time_intervals[{i}].name: a non-empty string is required")
        if name in parsed:
            raise ValueError(f"time_intervals[{i}].name: {name!r} is defined twice")
        parsed[name] = parse_time_interval(name, item.get("time_intervals") or [])
    return parsed


def _parse_period(where: str, raw: Mapping[str, Any]) -> TimePeriod:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping of {', '.join(_FIELDS)}")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r} (expected {', '.join(_FIELDS)})")
    location = UTC_ZONE
    if raw.get("location") is not None:
        location = _parse_location(f"{where}.location", raw["location"])
    return TimePeriod(
        times=_each(where, raw, "times", _parse_time_range),
        weekdays=_each(where, raw, "weekdays", _parse_weekdays),
        days_of_month=_each(where, raw, "days_of_month", _parse_days),
        months=_each(where, raw, "months", _parse_months),
        years=_each(where, raw, "years", _parse_years),
        location=location,
    )


def _each(where: str, raw: Mapping[str, Any], key: str, parse: Callable[[Any], _T]) -> tuple[_T, ...] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}.{key}: must be a non-empty list (leave it out to match any)")
    out: list[_T] = []
    for i, item in enumerate(value):
        try:
            out.append(parse(item))
        except ValueError as exc:
            raise ValueError(f"{where}.{key}[{i}]: {exc}") from None
    return tuple(out)


def _parse_location(where: str, value: Any) -> ZoneInfo:
    if not isinstance(value, str) or not value or value == "Local":
        raise ValueError(f"{where}: expected an IANA time zone name such as 'Europe/Berlin', got {value!r}")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{where}: unknown time zone {value!r}") from None


def _parse_time_range(item: Any) -> TimeRange:
    if not isinstance(item, Mapping) or set(item) - {"start_time", "end_time"}:
        raise ValueError(f"expected {{start_time: 'HH:MM', end_time: 'HH:MM'}}, got {item!r}")
    start, end = item.get("start_time"), item.get("end_time")
    if not start or not end:
        raise ValueError("both start_time and end_time must be provided")
    start_minute, end_minute = _minute(start), _minute(end)
    if start_minute >= end_minute:
        raise ValueError(f"start_time {start} must be before end_time {end} (a range cannot cross midnight)")
    return TimeRange(start_minute, end_minute)


def _minute(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"got the number {value}: quote the time ('HH:MM'); YAML 1.1 reads an unquoted 17:00 as 1020")
    if not isinstance(value, str) or not _TIME.match(value):
        raise ValueError(f"{value!r} is not a time of day: expected HH:MM from 00:00 to 24:00")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _split(item: Any) -> tuple[str, str]:
    if isinstance(item, bool) or not isinstance(item, str | int):
        raise ValueError(f"expected a value or a range such as 'a:b', got {item!r}")
    parts = [part.strip() for part in str(item).lower().split(":")]
    if len(parts) > 2 or not all(parts):
        raise ValueError(f"{item!r} is not a value or an inclusive range 'a:b'")
    return parts[0], parts[-1]


def _number(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid {what}") from None


def _parse_weekdays(item: Any) -> InclusiveRange:
    begin, end = _split(item)
    for day in (begin, end):
        if day not in WEEKDAYS:
            raise ValueError(f"{day!r} is not a weekday (sunday to saturday)")
    if WEEKDAYS[begin] > WEEKDAYS[end]:
        raise ValueError(f"{item!r}: start day cannot be after end day (weeks run sunday to saturday)")
    return InclusiveRange(WEEKDAYS[begin], WEEKDAYS[end])


def _parse_days(item: Any) -> InclusiveRange:
    b, e = _split(item)
    begin, end = _number(b, "day of the month"), _number(e, "day of the month")
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            hint = "; quote ranges ('1:5'), YAML 1.1 reads an unquoted 1:5 as 65" if isinstance(item, int) else ""
            raise ValueError(f"{day} is not a day of the month: 1 to 31, or -31 to -1 from the end{hint}")
    if begin < 0 < end:
        raise ValueError(f"{item!r}: end day must be negative if start day is negative")
    # As Alertmanager: refuse what is wrong in every month (a 28-day month decides for negatives).
    if (28 + begin if begin < 0 else begin) > (28 + end if end < 0 else end):
        raise ValueError(f"{item!r}: end day {end} is always before start day {begin}")
    return InclusiveRange(begin, end)


def _month(text: str) -> int:
    month = MONTHS[text] if text in MONTHS else _number(text, "month")
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r} is not a month: a name or 1 to 12")
    return month


def _parse_months(item: Any) -> InclusiveRange:
    b, e = _split(item)
    begin, end = _month(b), _month(e)
    if begin > end:
        raise ValueError(f"{item!r}: end month is before start month")
    return InclusiveRange(begin, end)


def _parse_years(item: Any) -> InclusiveRange:
    b, e = _split(item)
    begin, end = _number(b, "year"), _number(e, "year")
    if begin < 1:
        raise ValueError(f"{begin} is not a year: years are positive")
    if begin > end:
        raise ValueError(f"{item!r}: end year {end} is before start year {begin}")
    return InclusiveRange(begin, end)
