"""The notification outbox: rows decided with the notification log, claimed by a sender.

A claimable row has `next_attempt_at <= now` and is `pending`, or `sending` with an expired
lease (its sender died: `next_attempt_at` holds the lease's end while it is `sending`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

from alert_handler.store.groups import insert_ignoring_conflicts
from alert_handler.store.locking import claim
from alert_handler.store.rows_update import RowsUpdate
from alert_handler.store.tables import notifications_table as notifications


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


async def add(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], *, leased_until: datetime | None = None
) -> list[dict[str, Any]]:
    """Insert notifications; one whose dedup_key exists already is skipped. The rows inserted.

    With `leased_until`, they are inserted already claimed by the caller (status `sending`, first
    attempt), who sends them once this transaction commits."""
    if not rows:
        return []
    if leased_until is not None:
        lease = {
            "status": NotificationStatus.SENDING.value, "attempts": 1,
            "next_attempt_at": leased_until, "lease_until": leased_until,
        }  # fmt: skip
        rows = [{**r, **lease} for r in rows]
    made = await conn.execute(_add_statement(conn.dialect.name), sorted(rows, key=lambda r: r["dedup_key"]))
    return [dict(r._mapping) for r in made]


@functools.cache
def _add_statement(dialect: str) -> ReturningInsert[Any]:
    return insert_ignoring_conflicts(dialect, notifications).returning(*notifications.c)


def new_row(
    *,
    tenant: str,
    dedup_key: str,
    kind: str,
    receiver: str,
    group_id: int | None,
    group_labels: dict[str, str],
    firing: Sequence[int],
    resolved: Sequence[int],
    now: datetime,
    deadline: timedelta,
) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "dedup_key": dedup_key,
        "kind": kind,
        "group_id": group_id,
        "receiver": receiver,
        "group_labels": group_labels,
        "firing": sorted(firing),
        "resolved": sorted(resolved),
        "status": NotificationStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "deadline": now + deadline,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
        "sent_as": None,
    }


async def claim_due(
    conn: AsyncConnection, now: datetime, lease: timedelta, *, ids: Sequence[int] | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Take due notifications for `lease`; the caller sends them after committing this."""
    query = select(notifications).where(
        notifications.c.next_attempt_at <= now,
        notifications.c.status.in_((NotificationStatus.PENDING.value, NotificationStatus.SENDING.value)),
    )
    if ids is not None:
        query = query.where(notifications.c.id.in_(ids))
    query = query.order_by(notifications.c.next_attempt_at, notifications.c.id).limit(limit)
    rows = [dict(r._mapping) for r in await conn.execute(claim(query, conn))]
    if rows:
        until = now + lease
        await conn.execute(
            update(notifications)
            .where(notifications.c.id.in_([r["id"] for r in rows]))
            .values(
                status=NotificationStatus.SENDING.value,
                next_attempt_at=until,
                lease_until=until,
                attempts=notifications.c.attempts + 1,
            )
        )
        for row in rows:
            row["attempts"] += 1
    return rows


_FINISH = RowsUpdate(
    notifications,
    {"_status": "status", "_next": "next_attempt_at", "_error": "last_error", "_sent_at": "sent_at",
     "_sent_as": "sent_as"},
    {"lease_until": None},
)  # fmt: skip


async def finish(conn: AsyncConnection, outcomes: Sequence[dict[str, Any]]) -> None:
    """Record each attempt: keys _id, _status, _next (retry time or None), _error, _sent_at."""
    if not outcomes:
        return
    await _FINISH.execute(conn, [{"_sent_as": None, **o} for o in outcomes])


async def postpone(conn: AsyncConnection, until: Sequence[tuple[int, datetime]]) -> None:
    """Give claimed notifications back, due at the given times, the attempt not counted."""
    if not until:
        return
    statement = (
        update(notifications)
        .where(notifications.c.id == bindparam("_id"))
        .values(
            status=NotificationStatus.PENDING.value,
            next_attempt_at=bindparam("_next", type_=notifications.c.next_attempt_at.type),
            lease_until=None,
            attempts=notifications.c.attempts - 1,
        )
    )
    await conn.execute(statement, [{"_id": i, "_next": when} for i, when in until])


async def recent_messages(
    conn: AsyncConnection, receivers: Sequence[str], since: datetime
) -> dict[str, tuple[int, datetime | None]]:
    """Per receiver: messages sent after `since` (a digest counts once), and the oldest's time."""
    message = func.coalesce(notifications.c.sent_as, notifications.c.dedup_key)
    query = (
        select(notifications.c.receiver, func.count(message.distinct()), func.min(notifications.c.sent_at))
        .where(notifications.c.receiver.in_(receivers), notifications.c.sent_at > since)
        .group_by(notifications.c.receiver)
    )
    return {receiver: (count, oldest) for receiver, count, oldest in await conn.execute(query)}


async def counts(conn: AsyncConnection) -> dict[str, int]:
    query = select(notifications.c.status, func.count()).group_by(notifications.c.status)
    return {status: n for status, n in await conn.execute(query)}
