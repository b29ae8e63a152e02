"""Every table, in one place. API schemas live in `api/schemas.py`, not here."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, text
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
    # The severity as the source last sent it (rules may change `severity`): what ingest compares
    # a repeat with, so a rule's change is not taken for the source's. NULL: same as `severity`.
    sent_severity: Mapped[str | None] = mapped_column(String(16))
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
    # Set by processing (rules, routes, muting): see processing/ and GET /alerts/{id}/explain.
    owner: Mapped[str | None] = mapped_column(String(255))
    team: Mapped[str | None] = mapped_column(String(255))
    # What holds the alert back from notification: [{"kind": "silence", "id": ...}, ...]; NULL when nothing.
    suppressed_by: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    explanation: Mapped[dict[str, Any] | None] = mapped_column(Json)
    escalation_policy: Mapped[str | None] = mapped_column(String(255))
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)
    escalation_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

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
        # Open alerts by ends_at: the scheduler resolves those whose sender stopped re-sending them.
        Index(
            "ix_alerts_ends_at_open",
            "ends_at",
            postgresql_where=text("active_key IS NOT NULL"),
            sqlite_where=text("active_key IS NOT NULL"),
        ),
        Index(
            "ix_alerts_escalation_due_at",
            "escalation_due_at",
            postgresql_where=text("escalation_due_at IS NOT NULL"),
            sqlite_where=text("escalation_due_at IS NOT NULL"),
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


class SilenceRow(Base):
    __tablename__ = "silences"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    matchers: Mapped[list[str]] = mapped_column(Json)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(255))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_silences_tenant_ends_at", "tenant", "ends_at"),)


class AlertGroup(Base):
    """Alerts of one route and receiver that share the values of the route's group_by labels.

    `next_flush_at` is the scheduled work (NULL: nothing owed). The notified_* columns are the
    notification log of Alertmanager's nflog: what the receiver was last told, and when."""

    __tablename__ = "alert_groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    group_key: Mapped[str] = mapped_column(String(64), unique=True)
    route_path: Mapped[str] = mapped_column(String(1024))
    receiver: Mapped[str] = mapped_column(String(255))
    labels: Mapped[dict[str, str]] = mapped_column(Json)
    group_wait_s: Mapped[float] = mapped_column(Float)
    group_interval_s: Mapped[float] = mapped_column(Float)
    repeat_interval_s: Mapped[float] = mapped_column(Float)
    next_flush_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_firing: Mapped[list[int] | None] = mapped_column(Json)
    notified_resolved: Mapped[list[int] | None] = mapped_column(Json)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the receiver's service answered to the group's first message (Slack's ts), to thread later ones.
    thread: Mapped[dict[str, str] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index(
            "ix_alert_groups_next_flush_at",
            "next_flush_at",
            postgresql_where=text("next_flush_at IS NOT NULL"),
            sqlite_where=text("next_flush_at IS NOT NULL"),
        ),
    )


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("alert_groups.id", ondelete="CASCADE"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(BigId, ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_group_members_alert_id", "alert_id"),)


class Notification(Base):
    """One message owed to one receiver (the outbox): decided in the transaction that updates the
    notification log, delivered after it, retried with backoff, `dead` after its deadline.
    `dedup_key` is unique, so a second worker deciding the same notification inserts nothing."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("alert_groups.id", ondelete="SET NULL"))
    receiver: Mapped[str] = mapped_column(String(255))
    group_labels: Mapped[dict[str, str]] = mapped_column(Json)
    firing: Mapped[list[int]] = mapped_column(Json)
    resolved: Mapped[list[int]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The key of the message that carried it: its own, or a storm digest's (which carries many).
    sent_as: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_notifications_receiver_sent_at", "receiver", "sent_at"),
        Index(
            "ix_notifications_next_attempt_at",
            "next_attempt_at",
            postgresql_where=text("next_attempt_at IS NOT NULL"),
            sqlite_where=text("next_attempt_at IS NOT NULL"),
        ),
        Index("ix_notifications_status_id", "status", "id"),
    )


class ConfigObject(Base):
    """Configuration made through the API (receivers, routes, rules, ...); the file's are not stored."""

    __tablename__ = "config_objects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    body: Mapped[dict[str, Any]] = mapped_column(Json)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("kind", "name", name="uq_config_objects_kind_name"),)


class HeartbeatRow(Base):
    """A heartbeat: expected again before `expires_at`; `alerting_since` is set while its alert fires."""

    __tablename__ = "heartbeats"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    timeout_seconds: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))
    last_beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    alerting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("tenant", "name", name="uq_heartbeats_tenant_name"),
        Index("ix_heartbeats_expires_at", "expires_at"),
    )


# Core `Table` handles for the repositories, which use SQLAlchemy Core for speed.
alerts_table = cast(Table, Alert.__table__)
events_table = cast(Table, AlertEvent.__table__)
api_keys_table = cast(Table, ApiKey.__table__)
silences_table = cast(Table, SilenceRow.__table__)
groups_table = cast(Table, AlertGroup.__table__)
members_table = cast(Table, GroupMember.__table__)
notifications_table = cast(Table, Notification.__table__)
config_objects_table = cast(Table, ConfigObject.__table__)
heartbeats_table = cast(Table, HeartbeatRow.__table__)
