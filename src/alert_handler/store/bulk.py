"""The set-wise statements of an ingest transaction, behind one small interface.

`alert_writes` decides what to write; a `Bulk` writes it. The generic one is SQLAlchemy Core
and serves SQLite and MySQL/MariaDB; PostgreSQL gets `postgres_bulk.PostgresBulk`, which sends
each step as one statement over arrays, whatever the batch size.

Row shapes (plain dicts):
- creation: every column of `alerts` but `id`
- refresh:  id, title, description, labels, annotations, tags, metadata, generator_url,
            ends_at, severity, duplicates (to add), pending_since (None keeps it), now
- resolve:  id, ends_at, resolved_by, now
- event:    alert_id, tenant, fingerprint, at, kind, actor, detail; an event of an alert created
            by the same `write` has no alert_id but the new row's tenant and fingerprint, and is
            dropped when that insert lost to a concurrent writer
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, Protocol

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import ReturningInsert

from alert_handler import db
from alert_handler.domain.alert import Status
from alert_handler.store.tables import alerts_table as alerts
from alert_handler.store.tables import events_table

Row = dict[str, Any]


class Occurrence(NamedTuple):
    """The newest stored alert of one fingerprint; when one is open, it is this one.

    `locked`: it is open and now locked by this transaction. Open but not locked means another
    writer resolved it after it was read."""

    fingerprint: str
    id: int
    status: str
    severity: str
    open: bool
    locked: bool


class Bulk(Protocol):
    async def latest(self, tenant: str, fingerprints: Sequence[str]) -> list[Occurrence]:
        """Each fingerprint's open occurrence, or else its newest one (if it has any); the open
        ones are locked for the transaction, in key order, so writers that share alerts queue
        instead of deadlocking.

        Usually the open one is also the newest, but not always: a resolution that arrives while
        the firing alert is still uncommitted elsewhere is stored as its own, newer, occurrence.
        """

    async def write(
        self, creations: Sequence[Row], refreshes: Sequence[Row], events: Sequence[Row]
    ) -> list[tuple[int, str, str]]:
        """Insert the creations, skipping rows whose active_key another writer holds; refresh;
        add the events. Returns (id, tenant, fingerprint) of each row inserted."""

    async def resolve(self, rows: Sequence[Row]) -> None: ...


_REFRESH = (
    update(alerts)
    .where(alerts.c.id == bindparam("_id"))
    .values(
        title=bindparam("_title"),
        description=bindparam("_description"),
        labels=bindparam("_labels"),
        annotations=bindparam("_annotations"),
        tags=bindparam("_tags"),
        metadata=bindparam("_metadata"),
        generator_url=bindparam("_generator_url"),
        ends_at=bindparam("_ends_at"),
        severity=bindparam("_severity"),
        sent_severity=bindparam("_severity"),
        # Relative, so concurrent writers never lose a count.
        duplicate_count=alerts.c.duplicate_count + bindparam("_duplicates"),
        pending_since=func.coalesce(
            bindparam("_pending_since", type_=alerts.c.pending_since.type), alerts.c.pending_since
        ),
        last_received_at=bindparam("_now"),
        updated_at=bindparam("_now"),
    )
)
_RESOLVE = (
    update(alerts)
    .where(alerts.c.id == bindparam("_id"), alerts.c.active_key.is_not(None))
    .values(
        status=Status.RESOLVED.value,
        active_key=None,
        ends_at=bindparam("_ends_at"),
        resolved_at=bindparam("_now"),
        resolved_by=bindparam("_resolved_by"),
        pending_since=bindparam("_now"),
        last_received_at=bindparam("_now"),
        updated_at=bindparam("_now"),
    )
)


# Built once: SQLAlchemy then reuses their compiled form without rebuilding or re-keying them.
_NEWEST_FIRST = func.row_number().over(
    partition_by=alerts.c.fingerprint, order_by=(alerts.c.active_key.is_(None), alerts.c.id.desc())
)
_RANKED = (
    select(
        alerts.c.fingerprint,
        alerts.c.id,
        alerts.c.status,
        func.coalesce(alerts.c.sent_severity, alerts.c.severity).label("severity"),
        alerts.c.active_key.is_not(None).label("open"),
        _NEWEST_FIRST.label("rank"),
    )
    .where(alerts.c.tenant == bindparam("tenant"), alerts.c.fingerprint.in_(bindparam("fingerprints", expanding=True)))
    .subquery()
)
_LATEST = select(_RANKED.c.fingerprint, _RANKED.c.id, _RANKED.c.status, _RANKED.c.severity, _RANKED.c.open).where(
    _RANKED.c.rank == 1
)
_LOCK_OPEN = (
    select(alerts.c.id)
    .where(alerts.c.id.in_(bindparam("ids", expanding=True)), alerts.c.active_key.is_not(None))
    .order_by(alerts.c.active_key)
    .with_for_update()  # locked in key order: writers queue instead of deadlocking
)
_INSERT_IGNORING_CONFLICTS: dict[str, ReturningInsert[Any]] = {
    "sqlite": sqlite.insert(alerts)
    .on_conflict_do_nothing(index_elements=["active_key"])
    .returning(alerts.c.id, alerts.c.tenant, alerts.c.fingerprint),
    "mysql": mysql.insert(alerts).prefix_with("IGNORE").returning(alerts.c.id, alerts.c.tenant, alerts.c.fingerprint),
}


def _prefixed(rows: Sequence[Row]) -> list[Row]:
    return [{f"_{name}": value for name, value in row.items()} for row in rows]


class GenericBulk:
    """SQLAlchemy Core statements: SQLite (ON CONFLICT DO NOTHING) and MariaDB (INSERT IGNORE)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def latest(self, tenant: str, fingerprints: Sequence[str]) -> list[Occurrence]:
        rows = list(await self._conn.execute(_LATEST, {"tenant": tenant, "fingerprints": list(fingerprints)}))
        open_ids = [row[1] for row in rows if row[4]]
        if self._conn.dialect.name == "sqlite":
            locked = set(open_ids)  # the write transaction holds SQLite's database lock: nothing changes under it
        elif open_ids:
            locked = set((await self._conn.execute(_LOCK_OPEN, {"ids": open_ids})).scalars())
        else:
            locked = set()
        return [Occurrence(f, i, status, sev, bool(is_open), i in locked) for f, i, status, sev, is_open in rows]

    async def write(
        self, creations: Sequence[Row], refreshes: Sequence[Row], events: Sequence[Row]
    ) -> list[tuple[int, str, str]]:
        inserted: list[tuple[int, str, str]] = []
        if creations:
            statement = _INSERT_IGNORING_CONFLICTS[self._conn.dialect.name]
            inserted = [tuple(row) for row in await self._conn.execute(statement, list(creations))]
        if refreshes:
            await self._conn.execute(_REFRESH, _prefixed(refreshes))
        new_ids = {(tenant, fingerprint): alert_id for alert_id, tenant, fingerprint in inserted}
        event_rows = [_event_of(row, new_ids) for row in events]
        if any(event_rows):
            await self._conn.execute(insert(events_table), [row for row in event_rows if row])
        return inserted

    async def resolve(self, rows: Sequence[Row]) -> None:
        await self._conn.execute(_RESOLVE, _prefixed(rows))


def _event_of(row: Row, new_ids: dict[tuple[str, str], int]) -> Row | None:
    """The timeline row to insert, or None when the alert it belongs to was not inserted."""
    alert_id = row["alert_id"]
    if alert_id is None:
        alert_id = new_ids.get((row["tenant"], row["fingerprint"]))
        if alert_id is None:
            return None
    return {"alert_id": alert_id, "at": row["at"], "kind": row["kind"], "actor": row["actor"], "detail": row["detail"]}


async def bulk_for(conn: AsyncConnection) -> Bulk:
    if conn.dialect.name == "postgresql":
        from alert_handler.store.postgres_bulk import PostgresBulk

        return await PostgresBulk.over(conn)
    return GenericBulk(conn)


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[Bulk]:
    """A write transaction of its own, for a caller that writes only through a `Bulk`."""
    if engine.dialect.name == "postgresql":
        from alert_handler.store import postgres_bulk

        async with postgres_bulk.transaction(engine) as bulk:
            yield bulk
        return
    async with db.write(engine) as conn:
        yield GenericBulk(conn)
