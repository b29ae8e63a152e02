"""Pure grouping decisions: group labels, keys, and when a new group is first flushed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alert_handler.grouping.groups import first_flush_at, group_key, group_labels
from alert_handler.grouping.nflog import LogEntry, needs_notify
from alert_handler.routing.tree import GroupSettings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WAIT = GroupSettings(group_by=("alertname",), group_wait=timedelta(seconds=30))
NO_WAIT = GroupSettings(group_by=("alertname",), group_wait=timedelta(0))


def test_group_wait_counts_from_reception() -> None:
    assert first_flush_at(NOW, NOW - timedelta(seconds=10), None, WAIT) == NOW + timedelta(seconds=20)
    assert first_flush_at(NOW, NOW - timedelta(minutes=5), None, WAIT) == NOW


def test_an_alert_that_started_long_ago_is_flushed_at_once() -> None:
    assert first_flush_at(NOW, NOW, NOW - timedelta(minutes=1), WAIT) == NOW


def test_an_alert_received_after_the_run_started_is_due_now_without_group_wait() -> None:
    # Committed while the run was reading its clock: it must not wait for the next tick.
    assert first_flush_at(NOW, NOW + timedelta(milliseconds=5), None, NO_WAIT) == NOW
    assert first_flush_at(NOW, NOW + timedelta(milliseconds=5), None, WAIT) == NOW + timedelta(seconds=30)


def test_group_labels_and_keys() -> None:
    labels = {"alertname": "Disk", "host": "a"}
    assert group_labels(labels, WAIT) == {"alertname": "Disk"}
    assert group_labels(labels, GroupSettings(group_by_all=True), {"severity": "critical"}) == labels
    assert group_labels({}, GroupSettings(group_by=("severity",)), {"severity": "critical"}) == {"severity": "critical"}
    assert group_key("t", "route", "r", {"a": "1", "b": "2"}) == group_key("t", "route", "r", {"b": "2", "a": "1"})
    assert group_key("t", "route", "r", {"a": "1"}) != group_key("t", "route", "other", {"a": "1"})


def test_the_notification_log_decides_like_alertmanager() -> None:
    hour = timedelta(hours=1)
    entry = LogEntry(frozenset({1, 2}), frozenset(), NOW - timedelta(minutes=5))
    assert needs_notify(None, {1}, set(), now=NOW, repeat_interval=hour, send_resolved=True)
    assert not needs_notify(None, set(), {1}, now=NOW, repeat_interval=hour, send_resolved=True)
    assert needs_notify(entry, {1, 2, 3}, set(), now=NOW, repeat_interval=hour, send_resolved=True)
    assert not needs_notify(entry, {1, 2}, set(), now=NOW, repeat_interval=hour, send_resolved=True)
    assert needs_notify(entry, {1}, {2}, now=NOW, repeat_interval=hour, send_resolved=True)
    assert not needs_notify(entry, {1}, {2}, now=NOW, repeat_interval=hour, send_resolved=False)
    assert needs_notify(entry, set(), {1, 2}, now=NOW, repeat_interval=hour, send_resolved=False)
    assert needs_notify(entry, {1, 2}, set(), now=NOW + hour, repeat_interval=hour, send_resolved=True)
