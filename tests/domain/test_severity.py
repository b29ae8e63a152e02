"""Severity names and the aliases other tools send for them."""

from __future__ import annotations

import pytest

from alert_handler.domain.severity import ALIASES, Severity, parse_severity

EXPECTED = {
    Severity.CRITICAL: [
        "critical", "crit", "fatal", "emergency", "emerg", "alert", "disaster", "page", "p1", "sev1", "sev-1",
        "严重", "紧急",
    ],
    Severity.HIGH: ["high", "error", "err", "major", "p2", "sev2", "sev-2", "高"],
    Severity.WARNING: ["warning", "warn", "minor", "average", "medium", "p3", "sev3", "sev-3", "警告", "中"],
    Severity.INFO: [
        "info", "informational", "information", "notice", "low", "debug", "ok", "p4", "p5", "sev4", "sev5",
        "none", "not classified", "信息", "低",
    ],
}  # fmt: skip
CASES = [(name, severity) for severity, names in EXPECTED.items() for name in names]


@pytest.mark.parametrize(("name", "severity"), CASES)
def test_every_documented_alias_maps_to_its_severity(name: str, severity: Severity) -> None:
    assert parse_severity(name) is severity


def test_the_alias_table_holds_exactly_the_documented_names() -> None:
    assert dict(CASES) == ALIASES


@pytest.mark.parametrize(
    ("name", "severity"),
    [
        ("ERROR", Severity.HIGH),
        ("Major", Severity.HIGH),
        ("  minor  ", Severity.WARNING),
        ("PAGE", Severity.CRITICAL),
        ("Not Classified", Severity.INFO),
        ("\tCritical\n", Severity.CRITICAL),
        ("SEV-3", Severity.WARNING),
    ],
)
def test_aliases_ignore_case_and_surrounding_space(name: str, severity: Severity) -> None:
    assert parse_severity(name) is severity


@pytest.mark.parametrize(
    "name", ["", " ", "urgent", "sev0", "p0", "critical!", "crit ical", "warnings", "notclassified"]
)
def test_unknown_names_are_not_severities(name: str) -> None:
    assert parse_severity(name) is None


def test_rank_orders_severities_from_info_to_critical() -> None:
    ordered = sorted(Severity, key=lambda s: s.rank)
    assert ordered == [Severity.INFO, Severity.WARNING, Severity.HIGH, Severity.CRITICAL]
    assert len({s.rank for s in Severity}) == len(Severity)


def test_severity_values_are_the_wire_names() -> None:
    assert [s.value for s in Severity] == ["critical", "high", "warning", "info"]
    assert Severity("high") is Severity.HIGH
