"""Mute status: silences and inhibitions together, as Alertmanager reports them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alert_handler.domain.matchers import parse_matchers
from alert_handler.muting.inhibit import InhibitionIndex, InhibitRule
from alert_handler.muting.silences import Silence
from alert_handler.muting.status import MuteStatus, mute_status

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
SILENCES = [
    Silence("s-db", parse_matchers('team="db"'), T0, T0 + timedelta(hours=1), "ana", "upgrade", T0),
    Silence("s-later", parse_matchers('team="db"'), T0 + timedelta(hours=2), T0 + timedelta(hours=3), "ana", "x", T0),
]
RULE = InhibitRule(
    tuple(parse_matchers('severity="critical"')), tuple(parse_matchers('severity="warning"')), ("cluster",)
)
CRITICAL = {"alertname": "Down", "cluster": "a", "severity": "critical"}
INDEX = InhibitionIndex([RULE], [CRITICAL])


def test_neither() -> None:
    status = mute_status({"team": "web", "cluster": "a", "severity": "info"}, SILENCES, INDEX, T0)
    assert status == MuteStatus()
    assert (status.muted, status.state) == (False, "active")


def test_silenced_only() -> None:
    status = mute_status({"team": "db", "cluster": "b", "severity": "warning"}, SILENCES, INDEX, T0)
    assert status.silenced_by == ("s-db",)
    assert status.inhibited_by == ()
    assert (status.muted, status.state) == (True, "suppressed")


def test_inhibited_only() -> None:
    status = mute_status({"team": "web", "cluster": "a", "severity": "warning"}, SILENCES, INDEX, T0)
    assert status.silenced_by == ()
    assert [i.source_labels for i in status.inhibited_by] == [CRITICAL]
    assert status.state == "suppressed"


def test_both_are_reported() -> None:
    labels = {"team": "db", "cluster": "a", "severity": "warning"}
    status = mute_status(labels, SILENCES, INDEX, T0 + timedelta(hours=2))
    assert status.silenced_by == ("s-later",)
    assert len(status.inhibited_by) == 1
    assert mute_status(labels, SILENCES, INDEX, T0 + timedelta(hours=1, minutes=30)).silenced_by == ()
