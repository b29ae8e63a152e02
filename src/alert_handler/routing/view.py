"""The alert as rules and routes see it: plain data, built from a stored row.

Matchers read `match_labels()`: the alert's labels plus its native fields `source`, `severity`,
`title` and `tags` (the tags joined by commas, so `tags=~".*database.*"` works). A label of the
same name wins over a native field, except `severity`, which is always the alert's normalized
severity, so a rule that raises it changes where the alert goes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

NATIVE_FIELDS = ("source", "severity", "title", "tags")


def match_labels(
    labels: Mapping[str, str], severity: str, source: str, title: str, tags: Sequence[str]
) -> dict[str, str]:
    """What matchers see: the labels plus the native fields (see the module's docstring)."""
    found = {"source": source, "title": title, "tags": ",".join(tags)}
    found.update(labels)
    found["severity"] = severity
    return found


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    tenant: str
    fingerprint: str
    status: str
    severity: str
    source: str
    title: str
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    owner: str | None = None
    team: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> AlertView:
        """From a row of the alerts table (its `metadata` column read as `metadata`)."""
        return cls(
            id=row["id"],
            tenant=row["tenant"],
            fingerprint=row["fingerprint"],
            status=row["status"],
            severity=row["severity"],
            source=row["source"],
            title=row["title"],
            description=row["description"] or "",
            labels=dict(row["labels"] or {}),
            annotations=dict(row["annotations"] or {}),
            tags=tuple(row["tags"] or ()),
            metadata=dict(row["metadata"] or {}),
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            owner=row.get("owner"),
            team=row.get("team"),
        )

    def match_labels(self) -> dict[str, str]:
        return match_labels(self.labels, self.severity, self.source, self.title, self.tags)

    def as_dict(self) -> dict[str, Any]:
        """The whole alert as CEL expressions and templates see it."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "fingerprint": self.fingerprint,
            "status": self.status,
            "severity": self.severity,
            "source": self.source,
            "title": self.title,
            "description": self.description,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "tags": list(self.tags),
            "metadata": dict(self.metadata),
            "owner": self.owner or "",
            "team": self.team or "",
        }
