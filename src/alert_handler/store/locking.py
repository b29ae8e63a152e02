"""Row claims that let several workers share a queue table without waiting on each other."""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection


def claim(query: Select[tuple[object, ...]], conn: AsyncConnection) -> Select[tuple[object, ...]]:
    """Lock the selected rows for this transaction, skipping rows another worker holds.

    PostgreSQL takes FOR NO KEY UPDATE, which still lets others insert rows that refer to
    these (events, group members). SQLite has one writer: its write transaction is the lock.
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return query
    return query.with_for_update(skip_locked=True, key_share=dialect == "postgresql")
