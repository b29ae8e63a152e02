"""PostgreSQL's ingest statements: each step is one statement over the whole batch.

The rows travel as one JSON document (`json_to_recordset`): orjson writes it far faster than
the driver encodes thousands of array elements, PostgreSQL reads it in C, and the SQL text
never depends on the batch size, so each statement is prepared once per connection. The
statements run on the driver connection of the caller's SQLAlchemy transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.store.bulk import Occurrence, Row

_NEW_COLUMNS = (
    ("tenant", "varchar"), ("fingerprint", "varchar"), ("active_key", "varchar"), ("previous_id", "bigint"),
    ("status", "varchar"), ("severity", "varchar"), ("sent_severity", "varchar"), ("source", "varchar"),
    ("title", "varchar"),
    ("description", "text"), ("labels", "jsonb"), ("annotations", "jsonb"), ("tags", "jsonb"),
    ("metadata", "jsonb"), ("dedup_key", "varchar"), ("generator_url", "varchar"), ("starts_at", "timestamptz"),
    ("ends_at", "timestamptz"), ("first_received_at", "timestamptz"), ("last_received_at", "timestamptz"),
    ("duplicate_count", "int"), ("acknowledged_by", "varchar"), ("acknowledged_at", "timestamptz"),
    ("resolved_by", "varchar"), ("resolved_at", "timestamptz"), ("resolution_note", "text"),
    ("pending_since", "timestamptz"), ("updated_at", "timestamptz"),
)  # fmt: skip
_REFRESH_COLUMNS = (
    ("id", "bigint"), ("title", "varchar"), ("description", "text"), ("labels", "jsonb"),
    ("annotations", "jsonb"), ("tags", "jsonb"), ("metadata", "jsonb"), ("generator_url", "varchar"),
    ("ends_at", "timestamptz"), ("severity", "varchar"), ("duplicates", "int"), ("pending_since", "timestamptz"),
    ("now", "timestamptz"),
)  # fmt: skip
_RESOLVE_COLUMNS = (("id", "bigint"), ("ends_at", "timestamptz"), ("resolved_by", "varchar"), ("now", "timestamptz"))
_EVENT_COLUMNS = (
    ("alert_id", "bigint"),
    ("at", "timestamptz"),
    ("kind", "varchar"),
    ("actor", "varchar"),
    ("detail", "jsonb"),
)


def _rows(columns: Sequence[tuple[str, str]], alias: str) -> str:
    """The batch, from the JSON text in $1 (text, so no JSON codec re-encodes it), as a table."""
    return f"json_to_recordset($1::text::json) AS {alias}({', '.join(f'{c} {t}' for c, t in columns)})"


def _names(columns: Sequence[tuple[str, str]]) -> str:
    return ", ".join(c for c, _ in columns)


_LATEST = (
    "SELECT DISTINCT ON (fingerprint) fingerprint, id, status, coalesce(sent_severity, severity), "
    "active_key IS NOT NULL FROM alerts "
    "WHERE tenant = $1 AND fingerprint = ANY($2::varchar[]) ORDER BY fingerprint, active_key IS NULL, id DESC"
)
# Open rows are locked in key order: writers that share alerts queue instead of deadlocking.
_LOCK_OPEN = (
    "SELECT id FROM alerts WHERE id = ANY($1::bigint[]) AND active_key IS NOT NULL ORDER BY active_key FOR UPDATE"
)
_INSERT = (
    f"INSERT INTO alerts ({_names(_NEW_COLUMNS)}) SELECT {_names(_NEW_COLUMNS)} FROM {_rows(_NEW_COLUMNS, 'n')} "
    "ON CONFLICT (active_key) DO NOTHING RETURNING id, tenant, fingerprint"
)
_REFRESH = (
    "UPDATE alerts AS a SET title = u.title, description = u.description, labels = u.labels, "
    "annotations = u.annotations, tags = u.tags, metadata = u.metadata, generator_url = u.generator_url, "
    "ends_at = u.ends_at, severity = u.severity, sent_severity = u.severity, "
    "duplicate_count = a.duplicate_count + u.duplicates, "
    "pending_since = coalesce(u.pending_since, a.pending_since), last_received_at = u.now, updated_at = u.now "
    f"FROM {_rows(_REFRESH_COLUMNS, 'u')} WHERE a.id = u.id"
)
_RESOLVE = (
    "UPDATE alerts AS a SET status = 'resolved', active_key = NULL, ends_at = r.ends_at, resolved_at = r.now, "
    "resolved_by = r.resolved_by, pending_since = r.now, last_received_at = r.now, updated_at = r.now "
    f"FROM {_rows(_RESOLVE_COLUMNS, 'r')} WHERE a.id = r.id AND a.active_key IS NOT NULL"
)
_EVENTS = (
    f"INSERT INTO alert_events ({_names(_EVENT_COLUMNS)}) SELECT {_names(_EVENT_COLUMNS)} "
    f"FROM {_rows(_EVENT_COLUMNS, 'e')}"
)


class PostgresBulk:
    def __init__(self, conn: AsyncConnection, driver: Any) -> None:
        self._conn = conn
        self._db = driver  # the asyncpg connection under the caller's transaction

    @classmethod
    async def over(cls, conn: AsyncConnection) -> PostgresBulk:
        raw = await conn.get_raw_connection()
        return cls(conn, raw.driver_connection)

    async def _fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if not self._db.is_in_transaction():
            # SQLAlchemy's asyncpg adapter sends BEGIN with its first statement: let it, or the
            # statements sent straight to the driver would each commit on their own.
            result = await self._conn.exec_driver_sql(sql, args)
            rows = [tuple(r) for r in result.all()] if result.returns_rows else []
            if not self._db.is_in_transaction():
                raise RuntimeError("PostgresBulk needs the caller's transaction to be open")
            return rows
        try:
            return [tuple(r) for r in await self._db.fetch(sql, *args)]
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            # The same exception type SQLAlchemy raises, so callers handle one family.
            raise DBAPIError(sql, None, exc) from exc

    async def latest(self, tenant: str, fingerprints: Sequence[str]) -> list[Occurrence]:
        return [Occurrence(*row) for row in await self._fetch(_LATEST, tenant, list(fingerprints))]

    async def lock_open(self, ids: Sequence[int]) -> list[int]:
        return [row[0] for row in await self._fetch(_LOCK_OPEN, list(ids))]

    async def insert_new(self, rows: Sequence[Row]) -> list[tuple[int, str, str]]:
        return await self._fetch(_INSERT, orjson.dumps(rows).decode())

    async def refresh(self, rows: Sequence[Row]) -> None:
        await self._fetch(_REFRESH, orjson.dumps(rows).decode())

    async def resolve(self, rows: Sequence[Row]) -> None:
        await self._fetch(_RESOLVE, orjson.dumps(rows).decode())

    async def add_events(self, rows: Sequence[Row]) -> None:
        await self._fetch(_EVENTS, orjson.dumps(rows).decode())
