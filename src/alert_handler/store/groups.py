"""Alert groups, their members and their notification log (columns notified_*)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, and_, bindparam, delete, select, tuple_, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.schema import Table

from alert_handler.store.locking import claim
from alert_handler.store.rows_update import RowsUpdate
from alert_handler.store.tables import alerts_table as alerts
from alert_handler.store.tables import groups_table as groups
from alert_handler.store.tables import members_table as members

_WAKE_IDLE = (
    update(groups)
    .where(groups.c.id == bindparam("_id"), groups.c.next_flush_at.is_(None))
    .values(next_flush_at=bindparam("_at"))
)
_RECORD_FLUSH = RowsUpdate(
    groups,
    {"_next": "next_flush_at", "_firing": "notified_firing", "_resolved": "notified_resolved", "_at": "notified_at",
     "_now": "updated_at"},
)  # fmt: skip


@functools.cache  # one statement per table and database: SQLAlchemy reuses its compiled form
def insert_ignoring_conflicts(dialect: str, table: Table) -> Insert:
    """INSERT that skips rows colliding with a unique key (another worker made them first)."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return mysql.insert(table).prefix_with("IGNORE")


async def ensure(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> tuple[dict[str, int], set[int]]:
    """Make the groups that do not exist yet (with the `next_flush_at` of their row); the id of
    every group by its key, and the ids of the groups that existed already.

    Rows go in key order, so two workers making the same new groups queue instead of deadlocking.
    """
    if not rows:
        return {}, set()
    ordered = sorted(rows, key=lambda r: r["group_key"])
    made = await conn.execute(_ensure_statement(conn.dialect.name), ordered)
    ids = {key: id_ for key, id_ in made}
    existing: set[int] = set()
    rest = [r["group_key"] for r in ordered if r["group_key"] not in ids]
    if rest:
        found = await conn.execute(select(groups.c.group_key, groups.c.id).where(groups.c.group_key.in_(rest)))
        for key, id_ in found:
            ids[key] = id_
            existing.add(id_)
    return ids, existing


@functools.cache
def _ensure_statement(dialect: str) -> ReturningInsert[Any]:
    return insert_ignoring_conflicts(dialect, groups).returning(groups.c.group_key, groups.c.id)


async def add_members(conn: AsyncConnection, pairs: Iterable[tuple[int, int]], now: datetime) -> None:
    rows = [{"group_id": g, "alert_id": a, "added_at": now} for g, a in sorted(set(pairs))]
    if rows:
        await conn.execute(_add_members_statement(conn.dialect.name), rows)


@functools.cache
def _add_members_statement(dialect: str) -> ReturningInsert[Any]:
    # RETURNING, though nothing reads it: with it SQLAlchemy sends many rows per statement (its
    # "insertmanyvalues"), where without it an ON CONFLICT insert is executed once per row.
    return insert_ignoring_conflicts(dialect, members).returning(members.c.alert_id)


async def wake_idle(conn: AsyncConnection, first_flush: dict[int, datetime]) -> None:
    """Schedule a flush of existing groups that have nothing owed (emptied earlier).

    An UPDATE, not a decision on what was read: a flush committing meanwhile may have just
    emptied the group (without seeing the member being added), and this waits for it and
    re-checks, so no member is left in an idle group."""
    if not first_flush:
        return
    await conn.execute(_WAKE_IDLE, [{"_id": g, "_at": at} for g, at in sorted(first_flush.items())])


async def claim_due(
    conn: AsyncConnection, now: datetime, *, ids: Sequence[int] | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    query = select(groups).where(groups.c.next_flush_at <= now)
    if ids is not None:
        query = query.where(groups.c.id.in_(ids))
    query = query.order_by(groups.c.next_flush_at, groups.c.id).limit(limit)
    return [dict(r._mapping) for r in await conn.execute(claim(query, conn))]


async def member_alerts(conn: AsyncConnection, group_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Each member alert with its group id (`group_id`)."""
    if not group_ids:
        return []
    query = (
        select(members.c.group_id, alerts)
        .join(alerts, alerts.c.id == members.c.alert_id)
        .where(members.c.group_id.in_(group_ids))
        .order_by(members.c.group_id, alerts.c.id)
    )
    return [dict(r._mapping) for r in await conn.execute(query)]


async def remove_members(conn: AsyncConnection, pairs: Iterable[tuple[int, int]]) -> None:
    pairs = sorted(set(pairs))
    if pairs:
        await conn.execute(delete(members).where(tuple_(members.c.group_id, members.c.alert_id).in_(pairs)))


async def record_flush(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Per group: next_flush_at, and (when it was told something) the notification log entry."""
    if not rows:
        return
    await _RECORD_FLUSH.execute(conn, rows)


async def groups_of_alert(conn: AsyncConnection, alert_id: int) -> list[dict[str, Any]]:
    query = (
        select(groups)
        .join(members, and_(members.c.group_id == groups.c.id, members.c.alert_id == alert_id))
        .order_by(groups.c.id)
    )
    return [dict(r._mapping) for r in await conn.execute(query)]


async def threads(conn: AsyncConnection, group_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Per group: what its receiver's service answered to its first message (groups with one)."""
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    query = select(groups.c.id, groups.c.thread).where(groups.c.id.in_(ids), groups.c.thread.is_not(None))
    return {group_id: dict(thread) for group_id, thread in await conn.execute(query) if thread}


async def set_threads(conn: AsyncConnection, found: Mapping[int, dict[str, str]]) -> None:
    """Remember each group's thread; a group that has one keeps it (the first message wins)."""
    for group_id, thread in sorted(found.items()):
        await conn.execute(
            update(groups).where(groups.c.id == group_id, groups.c.thread.is_(None)).values(thread=thread)
        )
