"""API key records: create (returning the key once), look up by hash, revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.security.keys import Scope, display_prefix, hash_key, new_key
from alert_handler.store.tables import api_keys_table as api_keys


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: int
    name: str
    prefix: str
    scopes: list[str]
    tenant: str
    created_at: datetime
    revoked_at: datetime | None


def _record(row: object) -> KeyRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return KeyRecord(m["id"], m["name"], m["prefix"], list(m["scopes"]), m["tenant"], m["created_at"], m["revoked_at"])


async def create(
    conn: AsyncConnection, *, name: str, scopes: list[Scope], tenant: str, now: datetime
) -> tuple[KeyRecord, str]:
    """Store a new key; the plain key is returned here and never again."""
    key = new_key()
    values = {
        "name": name,
        "prefix": display_prefix(key),
        "key_hash": hash_key(key),
        "scopes": sorted(s.value for s in scopes),
        "tenant": tenant,
        "created_at": now,
    }
    result = await conn.execute(api_keys.insert().values(values).returning(*api_keys.c))
    return _record(result.one()), key


async def find_active(conn: AsyncConnection, key: str) -> KeyRecord | None:
    row = (
        await conn.execute(
            select(api_keys).where(api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None))
        )
    ).first()
    return _record(row) if row else None


async def revoke(conn: AsyncConnection, ident: str, now: datetime) -> int:
    """Revoke by id, name or prefix; returns how many keys were revoked."""
    match = [api_keys.c.name == ident, api_keys.c.prefix == ident]
    if ident.isdigit():
        match.append(api_keys.c.id == int(ident))
    result = await conn.execute(
        update(api_keys).where(or_(*match), api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return result.rowcount


async def revoke_id(conn: AsyncConnection, key_id: int, now: datetime) -> int:
    result = await conn.execute(
        update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return result.rowcount


async def list_keys(conn: AsyncConnection) -> list[KeyRecord]:
    return [_record(r) for r in await conn.execute(select(api_keys).order_by(api_keys.c.id))]


async def count_active(conn: AsyncConnection) -> int:
    query = select(func.count()).select_from(api_keys).where(api_keys.c.revoked_at.is_(None))
    return int((await conn.execute(query)).scalar_one())
