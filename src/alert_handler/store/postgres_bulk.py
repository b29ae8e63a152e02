"""PostgreSQL's ingest statements: each step is one statement over arrays (`unnest`).

The SQL text never depends on the batch size, so asyncpg prepares each statement once per
connection, and the rows travel in binary arrays instead of thousands of bind parameters.
The statements run on the driver connection of the caller's SQLAlchemy transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.store.bulk import Occurrence, Row

_JSON_COLUMNS = ("labels", "annotations", "tags", "metadata")
# (column, array type); JSON travels as text and is cast per element.
_NEW_COLUMNS = (
    ("tenant", "varchar"), ("fingerprint", "varchar"), ("active_key", "varchar"), ("previous_id", "bigint"),
    ("status", "varchar"), ("severity", "varchar"), ("source", "varchar"), ("title", "varchar"),
    ("description", "text"), ("labels", "text"), ("annotations", "text"), ("tags", "text"), ("metadata", "text"),
    ("dedup_key", "varchar"), ("generator_url", "varchar"), ("starts_at", "timestamptz"),
    ("ends_at", "timestamptz"), ("first_received_at", "timestamptz"), ("last_received_at", "timestamptz"),
    ("duplicate_count", "int"), ("acknowledged_by", "varchar"), ("acknowledged_at", "timestamptz"),
    ("resolved_by", "varchar"), ("resolved_at", "timestamptz"), ("resolution_note", "text"),
    ("pending_since", "timestamptz"), ("updated_at", "timestamptz"),
)  # fmt: skip


def _select_list(columns: Sequence[tuple[str, str]], alias: str) -> str:
    return ", ".join(f"{alias}.{c}::jsonb" if c in _JSON_COLUMNS else f"{alias}.{c}" for c, _ in columns)


def _unnest(columns: Sequence[tuple[str, str]], alias: str, first: int = 1) -> str:
    arrays = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(columns, start=first))
    return f"unnest({arrays}) AS {alias}({', '.join(c for c, _ in columns)})"


_LATEST = (
    "SELECT DISTINCT ON (fingerprint) fingerprint, id, status, severity, active_key IS NOT NULL FROM alerts "
    "WHERE tenant = $1 AND fingerprint = ANY($2::varchar[]) ORDER BY fingerprint, active_key IS NULL, id DESC"
)
# Open rows are locked in key order: writers that share alerts queue instead of deadlocking.
_LOCK_OPEN = (
    "SELECT id FROM alerts WHERE id = ANY($1::bigint[]) AND active_key IS NOT NULL ORDER BY active_key FOR UPDATE"
)
_INSERT = (
    f"INSERT INTO alerts ({', '.join(c for c, _ in _NEW_COLUMNS)}) "
    f"SELECT {_select_list(_NEW_COLUMNS, 'n')} FROM {_unnest(_NEW_COLUMNS, 'n')} "
    "ON CONFLICT (active_key) DO NOTHING RETURNING id, tenant, fingerprint"
)
_REFRESH_COLUMNS = (
    ("id", "bigint"), ("title", "varchar"), ("description", "text"), ("labels", "text"),
    ("annotations", "text"), ("tags", "text"), ("metadata", "text"), ("generator_url", "varchar"),
    ("ends_at", "timestamptz"), ("severity", "varchar"), ("duplicates", "int"), ("pending_since", "timestamptz"),
)  # fmt: skip
_REFRESH = (
    "UPDATE alerts AS a SET title = u.title, description = u.description, labels = u.labels::jsonb, "
    "annotations = u.annotations::jsonb, tags = u.tags::jsonb, metadata = u.metadata::jsonb, "
    "generator_url = u.generator_url, ends_at = u.ends_at, severity = u.severity, "
    "duplicate_count = a.duplicate_count + u.duplicates, "
    "pending_since = coalesce(u.pending_since, a.pending_since), last_received_at = $1, updated_at = $1 "
    f"FROM {_unnest(_REFRESH_COLUMNS, 'u', first=2)} WHERE a.id = u.id"
)
_RESOLVE_COLUMNS = (("id", "bigint"), ("ends_at", "timestamptz"), ("resolved_by", "varchar"))
_RESOLVE = (
    "UPDATE alerts AS a SET status = 'resolved', active_key = NULL, ends_at = r.ends_at, resolved_at = $1, "
    "resolved_by = r.resolved_by, pending_since = $1, last_received_at = $1, updated_at = $1 "
    f"FROM {_unnest(_RESOLVE_COLUMNS, 'r', first=2)} WHERE a.id = r.id AND a.active_key IS NOT NULL"
)
_EVENT_COLUMNS = (("alert_id", "bigint"), ("at", "timestamptz"), ("kind", "varchar"), ("actor", "varchar"))
_EVENTS = (
    "INSERT INTO alert_events (alert_id, at, kind, actor, detail) "
    "SELECT e.alert_id, e.at, e.kind, e.actor, e.detail::jsonb FROM "
    "unnest($1::bigint[], $2::timestamptz[], $3::varchar[], $4::varchar[], $5::text[]) "
    "AS e(alert_id, at, kind, actor, detail)"
)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _arrays(rows: Sequence[Row], columns: Sequence[tuple[str, str]]) -> list[list[Any]]:
    out = []
    for name, _ in columns:
        if name in _JSON_COLUMNS or name == "detail":
            out.append([_dumps(row[name]) for row in rows])
        else:
            out.append([row[name] for row in rows])
    return out


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
        return await self._fetch(_INSERT, *_arrays(rows, _NEW_COLUMNS))

    async def refresh(self, rows: Sequence[Row]) -> None:
        await self._fetch(_REFRESH, rows[0]["now"], *_arrays(rows, _REFRESH_COLUMNS))

    async def resolve(self, rows: Sequence[Row]) -> None:
        await self._fetch(_RESOLVE, rows[0]["now"], *_arrays(rows, _RESOLVE_COLUMNS))

    async def add_events(self, rows: Sequence[Row]) -> None:
        await self._fetch(_EVENTS, *_arrays(rows, (*_EVENT_COLUMNS, ("detail", "text"))))
