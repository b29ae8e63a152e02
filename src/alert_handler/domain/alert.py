"""The alert as the core sees it: what arrived, and what storing it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from alert_handler.domain.severity import Severity


class Status(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


OPEN_STATUSES = (Status.FIRING, Status.ACKNOWLEDGED)


class Outcome(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    REOPENED = "reopened"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    RECEIVED = "received"
    DUPLICATE = "duplicate"
    SEVERITY_CHANGED = "severity_changed"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    NOTE = "note"
    ROUTED = "routed"
    SUPPRESSED = "suppressed"
    UNSUPPRESSED = "unsuppressed"
    NOTIFIED = "notified"
    NOTIFICATION_FAILED = "notification_failed"
    ESCALATED = "escalated"


@dataclass(slots=True)
class IncomingAlert:
    """One normalized alert from any source, before it is stored."""

    tenant: str
    fingerprint: str
    source: str
    severity: Severity
    title: str
    description: str = ""
    resolved: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    dedup_key: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str | None = None
    actor: str = ""

    @property
    def active_key(self) -> str:
        return self.key_of(self.tenant, self.fingerprint)

    @staticmethod
    def key_of(tenant: str, fingerprint: str) -> str:
        """The unique key an open alert holds; NULL once resolved, so occurrences can repeat."""
        return f"{tenant}/{fingerprint}"


@dataclass(slots=True, frozen=True)
class IngestResult:
    id: int
    fingerprint: str
    outcome: Outcome
    status: Status
