"""Durations as Alertmanager writes them: `30s`, `5m`, `4h`, `1d`, `1w`, `1y`, `1h30m`, `500ms`, `0`.

Units in this order, each at most once: y (365 days), w, d, h, m, s, ms.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS: tuple[tuple[str, timedelta], ...] = (
    ("y", timedelta(days=365)),
    ("w", timedelta(weeks=1)),
    ("d", timedelta(days=1)),
    ("h", timedelta(hours=1)),
    ("m", timedelta(minutes=1)),
    ("s", timedelta(seconds=1)),
    ("ms", timedelta(milliseconds=1)),
)
_DURATION = re.compile("".join(rf"(?:(?P<{unit}>[0-9]+){unit})?" for unit, _ in _UNITS))


class DurationError(ValueError):
    """Text that is not a duration; the message says what is expected."""


def parse_duration(text: str) -> timedelta:
    """`"1h30m"` -> 90 minutes. Raises DurationError for anything else (negative, spaces, `5 min`)."""
    if text == "0":
        return timedelta(0)
    found = _DURATION.fullmatch(text)
    if not text or found is None:
        raise DurationError(
            f"{text!r} is not a duration: expected a number and a unit (ms, s, m, h, d, w, y), like 30s, 5m or 1h30m"
        )
    total = timedelta(0)
    for unit, size in _UNITS:
        count = found.group(unit)
        if count is not None:
            total += int(count) * size
    return total


def format_duration(value: timedelta) -> str:
    """The shortest text `parse_duration` reads back as `value` (`0s` for zero)."""
    if value < timedelta(0):
        raise DurationError(f"negative duration {value}")
    remaining = value // timedelta(milliseconds=1)
    parts = []
    for unit, size in _UNITS:
        per = size // timedelta(milliseconds=1)
        count, remaining = divmod(remaining, per)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
