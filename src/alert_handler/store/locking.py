"""Row claims that let several workers share a queue table without waiting on each other."""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection


def claim(query: Select[tuple[object, ...]], conn: AsyncConnection) -> Select[tuple[object, ...]]:
    """Lock the selected rows for this transaction, skipping rows another worker holds.

    PostgreSQL takes FOR NO KEY UPDATE, which still lets others insert rows that refer to
    these (events, group members). SQLite has one writer: its write transaction is the lock.
    """
    return claim_on(query, conn.dialect.name)


def claim_on(query: Select[tuple[object, ...]], dialect: str) -> Select[tuple[object, ...]]:
    """`claim` for a database named by its dialect (for statements built once, ahead of a connection)."""
    if dialect == "sqlite":
        return query
    return query.with_for_update(skip_locked=True, key_share=dialect == "postgresql")
