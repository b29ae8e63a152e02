"""Every table, in one place. API schemas live in `api/schemas.py`, not here."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ForeignKey, Index, Integer, MetaData, String, Table, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alert_handler.store.types import BigId, Json, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _postgresql_only(index: Index) -> Index:
    """An index that only PostgreSQL can use (GIN over JSONB); skipped elsewhere."""
    index.info["dialects"] = ("postgresql",)
    return index.ddl_if(dialect="postgresql")


def include_in_dialect(index: Index, dialect: str) -> bool:
    dialects = index.info.get("dialects")
    return dialects is None or dialect in dialects


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(255))
    # Set while the alert is open, NULL once resolved: the unique index on it is what makes
    # concurrent duplicates from several processes collapse into one alert.
    active_key: Mapped[str | None] = mapped_column(String(330), unique=True)
    previous_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("alerts.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    annotations: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    tags: Mapped[list[str]] = mapped_column(Json, default=list)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", Json, default=dict)
    dedup_key: Mapped[str | None] = mapped_column(String(255))
    generator_url: Mapped[str | None] = mapped_column(String(2048))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_by: Mapped[str | None] = mapped_column(String(255))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(255))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    # Work owed by the processing pipeline; set in the same transaction as the change.
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Fingerprint first: it is what ingest looks up, and it stays selective before statistics exist.
        Index("ix_alerts_fingerprint_tenant", "fingerprint", "tenant", "id"),
        Index("ix_alerts_status_id", "status", "id"),
        Index("ix_alerts_severity_id", "severity", "id"),
        Index("ix_alerts_source_id", "source", "id"),
        Index("ix_alerts_first_received_at", "first_received_at"),
        Index("ix_alerts_last_received_at_id", "last_received_at", "id"),
        Index("ix_alerts_starts_at_id", "starts_at", "id"),
        Index("ix_alerts_resolved_at_id", "resolved_at", "id"),
        Index(
            "ix_alerts_pending_since",
            "pending_since",
            postgresql_where=text("pending_since IS NOT NULL"),
            sqlite_where=text("pending_since IS NOT NULL"),
        ),
        _postgresql_only(
            Index(
                "ix_alerts_labels_gin",
                "labels",
                postgresql_using="gin",
                postgresql_ops={"labels": "jsonb_path_ops"},
            )
        ),
        _postgresql_only(
            Index(
                "ix_alerts_tags_gin",
                "tags",
                postgresql_using="gin",
                postgresql_ops={"tags": "jsonb_path_ops"},
            )
        ),
    )


class AlertEvent(Base):
    """The alert's timeline: every change after it was first received, with actor and time."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(BigId, ForeignKey("alerts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)

    __table_args__ = (Index("ix_alert_events_alert_id_id", "alert_id", "id"),)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(Json)
    tenant: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Core `Table` handles for the repositories, which use SQLAlchemy Core for speed.
alerts_table = cast(Table, Alert.__table__)
events_table = cast(Table, AlertEvent.__table__)
api_keys_table = cast(Table, ApiKey.__table__)
