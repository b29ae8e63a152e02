"""Time intervals: Alertmanager's fields, parsing errors, and the tricky instants."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alert_handler.muting.time_intervals import (
    InclusiveRange,
    TimeInterval,
    TimeRange,
    contains,
    muted_by_time,
    parse_time_interval,
    parse_time_intervals,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def interval(**period: Any) -> TimeInterval:
    return parse_time_interval("test", [period])


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def test_parse_the_documented_example() -> None:
    parsed = parse_time_interval(
        "business",
        [
            {
                "times": [{"start_time": "09:00", "end_time": "17:30"}],
                "weekdays": [" Monday : Friday ", "Sunday"],
                "days_of_month": ["1:5", "-3:-1", 15],
                "months": ["january:march", "12", "May"],
                "years": ["2024:2026", 2030],
                "location": "Europe/Berlin",
            }
        ],
    )
    [period] = parsed.periods
    assert parsed.name == "business"
    assert period.times == (TimeRange(540, 1050),)
    assert period.weekdays == (InclusiveRange(1, 5), InclusiveRange(0, 0))
    assert period.days_of_month == (InclusiveRange(1, 5), InclusiveRange(-3, -1), InclusiveRange(15, 15))
    assert period.months == (InclusiveRange(1, 3), InclusiveRange(12, 12), InclusiveRange(5, 5))
    assert period.years == (InclusiveRange(2024, 2026), InclusiveRange(2030, 2030))
    assert period.location == BERLIN


def test_absent_fields_match_anything_and_default_zone_is_utc() -> None:
    [period] = interval().periods
    assert period.times is None and period.weekdays is None and period.days_of_month is None
    assert period.months is None and period.years is None
    assert period.location == ZoneInfo("UTC")
    assert contains(interval(), utc(1999, 12, 31, 23, 59))
    assert contains(interval(location=None), utc(2026, 6, 1))


def test_empty_interval_contains_nothing() -> None:
    assert not contains(parse_time_interval("never", []), utc(2026, 1, 1))


def test_end_time_is_exclusive_and_seconds_are_ignored() -> None:
    office = interval(times=[{"start_time": "09:00", "end_time": "17:00"}])
    assert not contains(office, utc(2026, 1, 5, 8, 59, 59, 999999))
    assert contains(office, utc(2026, 1, 5, 9, 0))
    assert contains(office, utc(2026, 1, 5, 16, 59, 59))
    assert not contains(office, utc(2026, 1, 5, 17, 0))


def test_24_00_ends_the_day() -> None:
    evening = interval(times=[{"start_time": "22:00", "end_time": "24:00"}])
    assert contains(evening, utc(2026, 1, 5, 23, 59, 59))
    assert not contains(evening, utc(2026, 1, 6, 0, 0))
    whole_day = interval(times=[{"start_time": "00:00", "end_time": "24:00"}])
    assert contains(whole_day, utc(2026, 1, 6, 0, 0))
    assert contains(whole_day, utc(2026, 1, 6, 23, 59))


def test_several_time_ranges_and_periods_are_any_of() -> None:
    split = interval(times=[{"start_time": "00:00", "end_time": "06:00"}, {"start_time": "22:00", "end_time": "24:00"}])
    assert contains(split, utc(2026, 1, 5, 3))
    assert contains(split, utc(2026, 1, 5, 23))
    assert not contains(split, utc(2026, 1, 5, 12))
    two = parse_time_interval(
        "two", [{"weekdays": ["saturday"]}, {"times": [{"start_time": "12:00", "end_time": "13:00"}]}]
    )
    assert contains(two, utc(2026, 1, 10, 20))  # a saturday
    assert contains(two, utc(2026, 1, 12, 12, 30))  # a monday at noon
    assert not contains(two, utc(2026, 1, 12, 20))


def test_all_fields_of_a_period_must_match() -> None:
    weekday_mornings = interval(weekdays=["monday:friday"], times=[{"start_time": "08:00", "end_time": "12:00"}])
    assert contains(weekday_mornings, utc(2026, 1, 9, 9))  # friday
    assert not contains(weekday_mornings, utc(2026, 1, 10, 9))  # saturday
    assert not contains(weekday_mornings, utc(2026, 1, 9, 13))


@pytest.mark.parametrize(
    ("weekdays", "day", "expected"),
    [
        (["monday:friday"], 5, True),  # 2026-01-05 is a monday
        (["monday:friday"], 9, True),
        (["monday:friday"], 10, False),
        (["monday:friday"], 11, False),
        (["sunday"], 11, True),
        (["saturday", "sunday"], 10, True),
        (["sunday:saturday"], 7, True),
        (["MONDAY"], 5, True),
        (["tuesday:thursday"], 5, False),
    ],
)
def test_weekdays(weekdays: list[str], day: int, expected: bool) -> None:
    assert contains(interval(weekdays=weekdays), utc(2026, 1, day, 12)) is expected


@pytest.mark.parametrize(
    ("months", "month", "expected"),
    [
        (["january:march"], 1, True),
        (["january:march"], 3, True),
        (["january:march"], 4, False),
        (["3:5"], 5, True),
        (["12"], 12, True),
        (["December"], 11, False),
        (["may", "july"], 6, False),
        (["may", "july"], 7, True),
    ],
)
def test_months(months: list[str], month: int, expected: bool) -> None:
    assert contains(interval(months=months), utc(2026, month, 15)) is expected


def test_years() -> None:
    years = interval(years=["2024:2025", "2027"])
    assert [y for y in range(2022, 2030) if contains(years, utc(y, 6, 1))] == [2024, 2025, 2027]


@pytest.mark.parametrize(
    ("days", "year", "expected_days"),
    [
        (["-1"], 2023, [28]),
        (["-1"], 2024, [29]),
        (["-3:-1"], 2023, [26, 27, 28]),
        (["-3:-1"], 2024, [27, 28, 29]),
        (["29:31"], 2023, []),  # begins after the month's end: skipped
        (["29:31"], 2024, [29]),
        (["30"], 2024, []),
        (["27:31"], 2023, [27, 28]),  # clamped to the end of the month
        (["-31:-27"], 2023, [1, 2]),  # -31 clamps to the first day
        (["-31:-1"], 2023, list(range(1, 29))),
        (["1:-1"], 2024, list(range(1, 30))),
        (["1", "-1"], 2023, [1, 28]),
    ],
)
def test_days_of_month_in_february(days: list[str], year: int, expected_days: list[int]) -> None:
    ti = interval(days_of_month=days)
    last = calendar.monthrange(year, 2)[1]
    assert [d for d in range(1, last + 1) if contains(ti, utc(year, 2, d, 12))] == expected_days


def test_negative_days_in_a_31_day_month() -> None:
    ti = interval(days_of_month=["-3:-1"])
    assert [d for d in range(1, 32) if contains(ti, utc(2026, 1, d))] == [29, 30, 31]


def test_location_moves_the_wall_clock_with_dst() -> None:
    office = interval(times=[{"start_time": "09:00", "end_time": "17:00"}], location="Europe/Berlin")
    assert contains(office, utc(2026, 1, 12, 8, 0))  # 09:00 CET
    assert not contains(office, utc(2026, 1, 12, 7, 59))
    assert contains(office, utc(2026, 7, 13, 7, 0))  # 09:00 CEST
    assert not contains(office, utc(2026, 7, 13, 15, 0))  # 17:00 CEST


def test_berlin_spring_forward_skips_the_missing_hour() -> None:
    # 2026-03-29: at 01:00 UTC, Berlin goes from 02:00 CET to 03:00 CEST; 02:xx never happens.
    gap = interval(times=[{"start_time": "02:00", "end_time": "03:00"}], location="Europe/Berlin")
    minutes = [utc(2026, 3, 28, 22) + timedelta(minutes=m) for m in range(6 * 60)]
    assert not any(contains(gap, t) for t in minutes)
    after = interval(times=[{"start_time": "03:00", "end_time": "04:00"}], location="Europe/Berlin")
    assert contains(after, utc(2026, 3, 29, 1, 0))
    assert not contains(after, utc(2026, 3, 29, 0, 59))


def test_berlin_fall_back_repeats_the_hour() -> None:
    # 2026-10-25: 02:00-03:00 happens twice, at 00:xx UTC (CEST) and 01:xx UTC (CET).
    twice = interval(times=[{"start_time": "02:00", "end_time": "03:00"}], location="Europe/Berlin")
    hits = [m for m in range(0, 4 * 60) if contains(twice, utc(2026, 10, 25, 0) + timedelta(minutes=m))]
    assert hits == list(range(0, 120))


def test_new_york_dst_and_weekday_boundaries() -> None:
    morning = interval(times=[{"start_time": "06:00", "end_time": "07:00"}], location="America/New_York")
    assert contains(morning, utc(2026, 3, 7, 11, 30))  # EST: 06:30
    assert contains(morning, utc(2026, 3, 9, 10, 30))  # EDT: 06:30
    assert not contains(morning, utc(2026, 3, 9, 11, 30))  # EDT: 07:30
    gap = interval(times=[{"start_time": "02:00", "end_time": "03:00"}], location="America/New_York")
    assert not any(contains(gap, utc(2026, 3, 8, 5) + timedelta(minutes=m)) for m in range(4 * 60))
    # 2026-11-01: 01:00-02:00 happens twice (05:xx and 06:xx UTC).
    twice = interval(times=[{"start_time": "01:00", "end_time": "02:00"}], location="America/New_York")
    assert [h for h in range(3, 9) if contains(twice, utc(2026, 11, 1, h, 30))] == [5, 6]
    # friday 22:00 in New York is saturday 03:00 UTC
    friday = interval(weekdays=["friday"], location="America/New_York")
    assert contains(friday, utc(2026, 1, 10, 3, 0))
    assert not contains(interval(weekdays=["friday"]), utc(2026, 1, 10, 3, 0))


def test_shanghai_shifts_days_months_and_years() -> None:
    def sh(**kw: Any) -> TimeInterval:
        return interval(location="Asia/Shanghai", **kw)

    new_year_eve = utc(2025, 12, 31, 17, 0)  # 2026-01-01 01:00 in Shanghai
    assert contains(sh(years=["2026"]), new_year_eve)
    assert not contains(interval(years=["2026"]), new_year_eve)
    assert contains(sh(months=["january"], days_of_month=["1"], weekdays=["thursday"]), new_year_eve)
    assert contains(interval(months=["december"], days_of_month=["-1"], weekdays=["wednesday"]), new_year_eve)
    assert contains(sh(times=[{"start_time": "01:00", "end_time": "02:00"}]), new_year_eve)


def test_the_zone_of_now_does_not_matter() -> None:
    office = interval(times=[{"start_time": "09:00", "end_time": "17:00"}], location="Asia/Shanghai")
    instant = utc(2026, 1, 12, 1, 30)  # 09:30 in Shanghai
    for zone in (UTC, BERLIN, NEW_YORK, SHANGHAI):
        assert contains(office, instant.astimezone(zone))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="time-zone-aware"):
        contains(interval(), datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ({"times": [{"start_time": "09:00"}]}, r"time_intervals\[0\]\.times\[0\]: both start_time and end_time"),
        ({"times": [{"start_time": "9:00", "end_time": "10:00"}]}, r"times\[0\]: '9:00' is not a time of day"),
        ({"times": [{"start_time": "00:00", "end_time": "24:01"}]}, r"'24:01' is not a time of day"),
        ({"times": [{"start_time": "00:00", "end_time": "99:99"}]}, r"'99:99' is not a time of day"),
        ({"times": [{"start_time": "17:00", "end_time": "09:00"}]}, r"must be before end_time"),
        ({"times": [{"start_time": "09:00", "end_time": "09:00"}]}, r"must be before end_time"),
        ({"times": [{"start_time": "09:00", "end_time": "10:00", "x": 1}]}, r"times\[0\]: expected"),
        ({"times": ["09:00-10:00"]}, r"times\[0\]: expected"),
        ({"weekdays": ["monday", "friday:monday"]}, r"weekdays\[1\]: 'friday:monday': start day cannot be after"),
        ({"weekdays": ["monday:sunday"]}, r"start day cannot be after end day"),
        ({"weekdays": ["blurgsday"]}, r"weekdays\[0\]: 'blurgsday' is not a weekday"),
        ({"weekdays": ["1:3"]}, r"'1' is not a weekday"),
        ({"weekdays": ["monday:tuesday:friday"]}, r"is not a value or an inclusive range"),
        ({"weekdays": ["monday:"]}, r"is not a value or an inclusive range"),
        ({"weekdays": "monday"}, r"time_intervals\[0\]\.weekdays: must be a non-empty list"),
        ({"weekdays": []}, r"weekdays: must be a non-empty list"),
        ({"days_of_month": ["0"]}, r"days_of_month\[0\]: 0 is not a day of the month"),
        ({"days_of_month": ["32"]}, r"32 is not a day of the month"),
        ({"days_of_month": ["-32:-1"]}, r"-32 is not a day of the month"),
        ({"days_of_month": ["-3:5"]}, r"end day must be negative if start day is negative"),
        ({"days_of_month": ["10:5"]}, r"end day 5 is always before start day 10"),
        ({"days_of_month": ["-1:-3"]}, r"end day -3 is always before start day -1"),
        ({"days_of_month": ["28:-5"]}, r"end day -5 is always before start day 28"),
        ({"days_of_month": ["first"]}, r"'first' is not a valid day of the month"),
        ({"days_of_month": [True]}, r"expected a value or a range"),
        ({"days_of_month": [65]}, r"65 is not a day of the month: .*quote ranges \('1:5'\)"),
        ({"times": [{"start_time": "09:00", "end_time": 1020}]}, r"got the number 1020: quote the time"),
        ({"months": ["13"]}, r"months\[0\]: '13' is not a month"),
        ({"months": ["0"]}, r"'0' is not a month"),
        ({"months": ["smarch"]}, r"'smarch' is not a valid month"),
        ({"months": ["may:march"]}, r"end month is before start month"),
        ({"years": ["2026:2024"]}, r"years\[0\]: '2026:2024': end year 2024 is before start year 2026"),
        ({"years": ["0"]}, r"0 is not a year"),
        ({"years": ["twenty"]}, r"'twenty' is not a valid year"),
        ({"location": "Mars/Olympus"}, r"time_intervals\[0\]\.location: unknown time zone 'Mars/Olympus'"),
        ({"location": "Europe"}, r"unknown time zone 'Europe'"),
        ({"location": "../etc/passwd"}, r"unknown time zone"),
        ({"location": "Local"}, r"expected an IANA time zone name"),
        ({"location": 8}, r"expected an IANA time zone name"),
        ({"weekday": ["monday"]}, r"time_intervals\[0\]: unknown field 'weekday'"),
    ],
)
def test_parse_errors_name_the_field(period: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"^time interval 'office': .*" + message):
        parse_time_interval("office", [period])


def test_parse_error_index_of_the_period() -> None:
    with pytest.raises(ValueError, match=r"time_intervals\[1\]\.months\[0\]"):
        parse_time_interval("x", [{"months": ["may"]}, {"months": ["mayday"]}])


def test_parse_refuses_bad_shapes() -> None:
    with pytest.raises(ValueError, match="name is required"):
        parse_time_interval("", [])
    with pytest.raises(ValueError, match="must be a list"):
        parse_time_interval("x", "monday")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"time_intervals\[0\]: expected a mapping"):
        parse_time_interval("x", ["monday"])  # type: ignore[list-item]


def test_parse_top_level_list() -> None:
    parsed = parse_time_intervals(
        [
            {"name": "weekends", "time_intervals": [{"weekdays": ["saturday", "sunday"]}]},
            {"name": "never", "time_intervals": []},
            {"name": "empty"},
        ]
    )
    assert list(parsed) == ["weekends", "never", "empty"]
    assert contains(parsed["weekends"], utc(2026, 1, 10))
    with pytest.raises(ValueError, match=r"time_intervals\[1\]\.name: 'a' is defined twice"):
        parse_time_intervals([{"name": "a"}, {"name": "a"}])
    with pytest.raises(ValueError, match=r"time_intervals\[0\]\.name: a non-empty string"):
        parse_time_intervals([{"time_intervals": []}])
    with pytest.raises(ValueError, match=r"time_intervals\[0\]: expected a mapping"):
        parse_time_intervals([{"name": "a", "intervals": []}])


INTERVALS = parse_time_intervals(
    [
        {"name": "weekends", "time_intervals": [{"weekdays": ["saturday", "sunday"]}]},
        {"name": "nights", "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "06:00"}]}]},
        {
            "name": "business",
            "time_intervals": [
                {"weekdays": ["monday:friday"], "times": [{"start_time": "09:00", "end_time": "17:00"}]}
            ],
        },
    ]
)
SATURDAY_NOON, MONDAY_10, MONDAY_03 = utc(2026, 1, 10, 12), utc(2026, 1, 12, 10), utc(2026, 1, 12, 3)


def test_muted_by_mute_intervals() -> None:
    assert muted_by_time(INTERVALS, ["weekends"], [], SATURDAY_NOON) == "mute_time_intervals: in 'weekends'"
    assert muted_by_time(INTERVALS, ["weekends", "nights"], [], MONDAY_03) == "mute_time_intervals: in 'nights'"
    assert muted_by_time(INTERVALS, ["weekends", "nights"], [], MONDAY_10) is None
    assert muted_by_time(INTERVALS, [], [], SATURDAY_NOON) is None


def test_muted_outside_active_intervals() -> None:
    assert muted_by_time(INTERVALS, [], ["business"], MONDAY_10) is None
    assert muted_by_time(INTERVALS, [], ["business"], SATURDAY_NOON) == "active_time_intervals: outside 'business'"
    assert muted_by_time(INTERVALS, [], ["business", "weekends"], SATURDAY_NOON) is None
    reason = muted_by_time(INTERVALS, [], ["business", "nights"], SATURDAY_NOON)
    assert reason == "active_time_intervals: outside 'business', 'nights'"
    # mute wins over active, as the mute stage runs first in Alertmanager
    assert muted_by_time(INTERVALS, ["business"], ["business"], MONDAY_10) == "mute_time_intervals: in 'business'"


def test_unknown_interval_name_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="time interval 'holidays' is not defined"):
        muted_by_time(INTERVALS, ["holidays"], [], MONDAY_10)
    with pytest.raises(ValueError, match="time interval 'holidays' is not defined"):
        muted_by_time(INTERVALS, [], ["holidays"], MONDAY_10)


instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Shanghai", "Australia/Lord_Howe"])
hhmm = st.integers(min_value=0, max_value=1440).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")


@given(instants, hhmm, hhmm, zones)
def test_times_property(now: datetime, start: str, end: str, zone: str) -> None:
    s, e = int(start[:2]) * 60 + int(start[3:]), int(end[:2]) * 60 + int(end[3:])
    if s >= e:
        with pytest.raises(ValueError):
            interval(times=[{"start_time": start, "end_time": end}])
        return
    local = now.astimezone(ZoneInfo(zone))
    expected = s <= local.hour * 60 + local.minute < e
    assert contains(interval(times=[{"start_time": start, "end_time": end}], location=zone), now) is expected


@given(instants, zones)
def test_calendar_fields_property(now: datetime, zone: str) -> None:
    local = now.astimezone(ZoneInfo(zone))
    last = calendar.monthrange(local.year, local.month)[1]
    weekday = local.strftime("%A").lower()
    month = local.strftime("%B")
    assert contains(interval(weekdays=[weekday], location=zone), now)
    assert contains(interval(weekdays=["sunday:saturday"], location=zone), now)
    assert contains(interval(months=[month], years=[str(local.year)], location=zone), now)
    assert contains(interval(days_of_month=[str(local.day)], location=zone), now)
    assert contains(interval(days_of_month=[str(local.day - last - 1)], location=zone), now)
    assert contains(interval(days_of_month=["1:31"], location=zone), now)
    assert contains(interval(days_of_month=["-1"], location=zone), now) is (local.day == last)
    assert not contains(interval(years=[str(local.year + 1)], location=zone), now)
