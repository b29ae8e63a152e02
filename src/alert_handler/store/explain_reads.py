"""What `GET /alerts/{id}/explain` and `GET /notifications` read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.store.tables import notifications_table as notifications


async def alert_notifications(
    conn: AsyncConnection, tenant: str, alert_id: int, group_ids: list[int], limit: int = 50
) -> list[dict[str, Any]]:
    """The newest notifications of the alert's groups and of its escalation, newest first."""
    escalation_prefix = f"escalation:{alert_id}:"
    clauses = [notifications.c.dedup_key.startswith(escalation_prefix)]
    if group_ids:
        clauses.append(notifications.c.group_id.in_(group_ids))

    query = (
        select(notifications)
        .where(notifications.c.tenant == tenant, or_(*clauses))
        .order_by(notifications.c.id.desc())
        .limit(limit)
    )
    rows = [dict(r._mapping) for r in await conn.execute(query)]
    return [r for r in rows if alert_id in r["firing"] or alert_id in r["resolved"]]


async def get_notification(conn: AsyncConnection, tenant: str, notification_id: int) -> dict[str, Any] | None:
    query = select(notifications).where(notifications.c.id == notification_id, notifications.c.tenant == tenant)
    row = (await conn.execute(query)).first()
    return dict(row._mapping) if row else None


async def list_notifications(
    conn: AsyncConnection, tenant: str, *, status: str | None, receiver: str | None, limit: int, before: int | None
) -> list[dict[str, Any]]:
    query = select(notifications).where(notifications.c.tenant == tenant)
    if status:
        query = query.where(notifications.c.status == status)
    if receiver:
        query = query.where(notifications.c.receiver == receiver)
    if before:
        query = query.where(notifications.c.id < before)
    query = query.order_by(notifications.c.id.desc()).limit(limit)
    return [dict(r._mapping) for r in await conn.execute(query)]
