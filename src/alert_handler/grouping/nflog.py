"""The notification log's decision: does a group's receiver need a notification now?

Alertmanager's DedupStage.needsUpdate, over alert ids: what was last sent (`entry`) against the
group's current firing and resolved alerts (muted ones already left out).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class LogEntry:
    firing: frozenset[int]
    resolved: frozenset[int]
    sent_at: datetime


def needs_notify(
    entry: LogEntry | None,
    firing: Set[int],
    resolved: Set[int],
    *,
    now: datetime,
    repeat_interval: timedelta,
    send_resolved: bool,
) -> bool:
    if entry is None:
        # Never told: tell it about firing alerts; alerts that fired and resolved unseen are news to nobody.
        return bool(firing)
    if not firing <= entry.firing:
        return True
    if not firing:
        # Everything resolved: notify (or at least log) once, so the log forgets the firing alerts.
        return bool(entry.firing)
    if send_resolved and not resolved <= entry.resolved:
        return True
    return entry.sent_at <= now - repeat_interval
