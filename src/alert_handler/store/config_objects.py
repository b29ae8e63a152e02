"""Configuration objects made through the API (receivers, routes, rules, ...), one row each.

`marker` is the cheap question other processes ask every few seconds ("did anything change?");
every write moves it: a create or delete changes the count, and each write stamps `updated_at`
strictly after the newest stamp there is, even when clocks disagree or stand still.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.store.tables import config_objects_table as t

Marker = tuple[int, datetime | None, int | None]


@dataclass(frozen=True, slots=True)
class StoredObject:
    kind: str
    name: str
    body: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime


def _record(row: Any) -> StoredObject:
    return StoredObject(row.kind, row.name, dict(row.body), row.created_by, row.created_at, row.updated_at)


async def list_all(conn: AsyncConnection) -> list[StoredObject]:
    """Every object, by kind then name (sorted here: database collations differ)."""
    rows = (await conn.execute(select(t))).all()
    return sorted((_record(r) for r in rows), key=lambda o: (o.kind, o.name))


async def marker(conn: AsyncConnection) -> Marker:
    """(count, newest `updated_at`, highest id): changes whenever any object does."""
    row = (await conn.execute(select(func.count(), func.max(t.c.updated_at), func.max(t.c.id)))).one()
    return int(row[0]), row[1], None if row[2] is None else int(row[2])


async def find(conn: AsyncConnection, kind: str, name: str) -> StoredObject | None:
    row = (await conn.execute(select(t).where(t.c.kind == kind, t.c.name == name))).first()
    return _record(row) if row is not None else None


async def _stamp(conn: AsyncConnection, now: datetime) -> datetime:
    newest: datetime | None = (await conn.execute(select(func.max(t.c.updated_at)))).scalar_one_or_none()
    if newest is not None and newest >= now:
        return newest + timedelta(microseconds=1)
    return now


async def put(conn: AsyncConnection, kind: str, name: str, body: dict[str, Any], actor: str, now: datetime) -> bool:
    """Create or replace; True when it was created."""
    stamp = await _stamp(conn, now)
    found = await conn.execute(update(t).where(t.c.kind == kind, t.c.name == name).values(body=body, updated_at=stamp))
    if found.rowcount:
        return False
    await conn.execute(
        insert(t).values(kind=kind, name=name, body=body, created_by=actor, created_at=stamp, updated_at=stamp)
    )
    return True


async def remove(conn: AsyncConnection, kind: str, name: str) -> bool:
    result = await conn.execute(delete(t).where(t.c.kind == kind, t.c.name == name))
    return bool(result.rowcount)
