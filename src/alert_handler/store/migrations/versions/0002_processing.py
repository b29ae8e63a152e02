"""processing: routing results on alerts, silences, groups and their notification log,
notifications (the outbox), configuration objects made through the API

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from alert_handler.store.types import BigId, Json, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _partial(column: str) -> dict[str, Any]:
    where = sa.text(f"{column} IS NOT NULL")
    return {"postgresql_where": where, "sqlite_where": where}


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("sent_severity", sa.String(16), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(255), nullable=True))
        batch.add_column(sa.Column("team", sa.String(255), nullable=True))
        batch.add_column(sa.Column("suppressed_by", Json, nullable=True))
        batch.add_column(sa.Column("explanation", Json, nullable=True))
        batch.add_column(sa.Column("escalation_policy", sa.String(255), nullable=True))
        batch.add_column(sa.Column("escalation_step", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("escalation_due_at", UTCDateTime(), nullable=True))
    open_only = sa.text("active_key IS NOT NULL")
    op.create_index("ix_alerts_ends_at_open", "alerts", ["ends_at"], postgresql_where=open_only, sqlite_where=open_only)
    op.create_index("ix_alerts_escalation_due_at", "alerts", ["escalation_due_at"], **_partial("escalation_due_at"))

    op.create_table(
        "silences",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("matchers", Json, nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silences")),
    )
    op.create_index("ix_silences_tenant_ends_at", "silences", ["tenant", "ends_at"])

    op.create_table(
        "alert_groups",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("group_key", sa.String(64), nullable=False),
        sa.Column("route_path", sa.String(1024), nullable=False),
        sa.Column("receiver", sa.String(255), nullable=False),
        sa.Column("labels", Json, nullable=False),
        sa.Column("group_wait_s", sa.Float(), nullable=False),
        sa.Column("group_interval_s", sa.Float(), nullable=False),
        sa.Column("repeat_interval_s", sa.Float(), nullable=False),
        sa.Column("next_flush_at", UTCDateTime(), nullable=True),
        sa.Column("notified_firing", Json, nullable=True),
        sa.Column("notified_resolved", Json, nullable=True),
        sa.Column("notified_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_groups")),
        sa.UniqueConstraint("group_key", name=op.f("uq_alert_groups_group_key")),
    )
    op.create_index("ix_alert_groups_next_flush_at", "alert_groups", ["next_flush_at"], **_partial("next_flush_at"))

    op.create_table(
        "group_members",
        sa.Column("group_id", BigId, nullable=False),
        sa.Column("alert_id", BigId, nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["alert_groups.id"], name=op.f("fk_group_members_group_id_alert_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_group_members_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "alert_id", name=op.f("pk_group_members")),
    )
    op.create_index("ix_group_members_alert_id", "group_members", ["alert_id"])

    op.create_table(
        "notifications",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("group_id", BigId, nullable=True),
        sa.Column("receiver", sa.String(255), nullable=False),
        sa.Column("group_labels", Json, nullable=False),
        sa.Column("firing", Json, nullable=False),
        sa.Column("resolved", Json, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("deadline", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["alert_groups.id"], name=op.f("fk_notifications_group_id_alert_groups"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_notifications_dedup_key")),
    )
    op.create_index(
        "ix_notifications_next_attempt_at", "notifications", ["next_attempt_at"], **_partial("next_attempt_at")
    )
    op.create_index("ix_notifications_status_id", "notifications", ["status", "id"])

    op.create_table(
        "config_objects",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("body", Json, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_objects")),
        sa.UniqueConstraint("kind", "name", name="uq_config_objects_kind_name"),
    )


def downgrade() -> None:
    op.drop_table("config_objects")
    op.drop_table("notifications")
    op.drop_table("group_members")
    op.drop_table("alert_groups")
    op.drop_table("silences")
    op.drop_index("ix_alerts_escalation_due_at", table_name="alerts")
    op.drop_index("ix_alerts_ends_at_open", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        for column in ("escalation_due_at", "escalation_step", "escalation_policy", "explanation"):
            batch.drop_column(column)
        for column in ("suppressed_by", "team", "owner", "sent_severity"):
            batch.drop_column(column)
