"""Heartbeats: the alert a missing heartbeat fires, and the message that resolves it. Pure.

One alert per heartbeat (dedup key `heartbeat:<name>`, source `heartbeat`), labelled
`alertname="HeartbeatMissing"` and `heartbeat="<name>"` so routes and silences can match it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from alert_handler.domain.alert import IncomingAlert
from alert_handler.domain.severity import Severity

SOURCE = "heartbeat"
ALERTNAME = "HeartbeatMissing"
DEFAULT_TIMEOUT = timedelta(minutes=5)
MIN_TIMEOUT = timedelta(seconds=1)
MAX_TIMEOUT = timedelta(days=30)


def dedup_key(name: str) -> str:
    return f"heartbeat:{name}"


def _base(tenant: str, name: str, severity: Severity, actor: str, resolved: bool) -> IncomingAlert:
    return IncomingAlert(
        tenant=tenant,
        fingerprint=dedup_key(name),
        dedup_key=dedup_key(name),
        source=SOURCE,
        severity=severity,
        title=f"Heartbeat {name} missing",
        labels={"alertname": ALERTNAME, "heartbeat": name},
        resolved=resolved,
        actor=actor,
    )


def missing_alert(
    *, tenant: str, name: str, severity: Severity, last_beat_at: datetime, timeout: timedelta, actor: str
) -> IncomingAlert:
    """The firing alert for a heartbeat whose last beat is older than its timeout."""
    alert = _base(tenant, name, severity, actor, resolved=False)
    alert.description = f"No heartbeat {name!r} since {last_beat_at.isoformat()} (expected at least every {timeout})."
    alert.metadata = {
        "heartbeat": name,
        "last_beat_at": last_beat_at.isoformat(),
        "timeout_seconds": timeout.total_seconds(),
    }
    alert.starts_at = last_beat_at + timeout
    return alert


def returned_alert(*, tenant: str, name: str, severity: Severity, actor: str) -> IncomingAlert:
    """The message that resolves a heartbeat's alert: it beats again (or was deleted)."""
    return _base(tenant, name, severity, actor, resolved=True)
