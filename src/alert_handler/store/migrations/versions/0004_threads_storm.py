"""threads and storm protection: a group's thread at its receiver's service, and which message
carried each sent notification (a digest carries many)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alert_handler.store.types import Json

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_groups") as batch:
        batch.add_column(sa.Column("thread", Json, nullable=True))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("sent_as", sa.String(255), nullable=True))
    op.create_index("ix_notifications_receiver_sent_at", "notifications", ["receiver", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_receiver_sent_at", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("sent_as")
    with op.batch_alter_table("alert_groups") as batch:
        batch.drop_column("thread")
