"""Severities and the aliases other tools use for them.

| severity | accepted aliases (case-insensitive) |
|---|---|
| critical | crit, fatal, emergency, emerg, alert, disaster, page, p1, sev1, sev-1, 严重, 紧急 |
| high     | error, err, major, p2, sev2, sev-2, 高 |
| warning  | warn, minor, average, medium, p3, sev3, sev-3, 警告, 中 |
| info     | informational, information, notice, low, debug, ok, p4, p5, sev4, sev5, none, not classified, 信息, 低 |
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.WARNING: 2, Severity.INFO: 1}

ALIASES: dict[str, Severity] = {
    **{s.value: s for s in Severity},
    **dict.fromkeys(
        (
            "crit",
            "fatal",
            "emergency",
            "emerg",
            "alert",
            "disaster",
            "page",
            "p1",
            "sev1",
            "sev-1",
            "严重",
            "紧急",
        ),
        Severity.CRITICAL,
    ),
    **dict.fromkeys(("error", "err", "major", "p2", "sev2", "sev-2", "高"), Severity.HIGH),
    **dict.fromkeys(("warn", "minor", "average", "medium", "p3", "sev3", "sev-3", "警告", "中"), Severity.WARNING),
    **dict.fromkeys(
        (
            "informational",
            "information",
            "notice",
            "low",
            "debug",
            "ok",
            "p4",
            "p5",
            "sev4",
            "sev5",
            "none",
            "not classified",
            "信息",
            "低",
        ),
        Severity.INFO,
    ),
}


def parse_severity(value: str) -> Severity | None:
    """The severity a name stands for, or None when it is not one we know."""
    return ALIASES.get(value.strip().lower())
