"""Silences in the database, with Alertmanager's rules for changing and expiring them.

Matchers are stored as their canonical text (`str(matcher)`, e.g. `team="db"`) and parsed back
on the way out. Every function takes the connection of a transaction the caller opened; every
query is scoped to a tenant, except the metrics count that spans them all.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.domain.matchers import Matcher, parse_matcher
from alert_handler.muting.silences import Silence, SilenceState, can_update, starting_no_earlier_than
from alert_handler.store.tables import silences_table as silences


@dataclass(frozen=True, slots=True)
class Expiry:
    """What `expire` did. `silence` None: no such silence. `already`: it had expired before, and
    nothing changed (Alertmanager answers that as an error: "silence … already expired")."""

    silence: Silence | None
    already: bool = False


def new_id() -> str:
    return str(uuid.uuid4())


def to_row(silence: Silence, tenant: str) -> dict[str, Any]:
    """The row of a new silence; it is created when it was last updated."""
    return {
        "id": silence.id,
        "tenant": tenant,
        "matchers": [str(m) for m in silence.matchers],
        "starts_at": silence.starts_at,
        "ends_at": silence.ends_at,
        "created_by": silence.created_by,
        "comment": silence.comment,
        "created_at": silence.updated_at,
        "updated_at": silence.updated_at,
    }


def from_row(row: Mapping[Any, Any]) -> Silence:
    return Silence(
        id=row["id"],
        matchers=[parse_matcher(text) for text in row["matchers"]],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        created_by=row["created_by"],
        comment=row["comment"],
        updated_at=row["updated_at"],
    )


async def create(conn: AsyncConnection, silence: Silence, tenant: str) -> Silence:
    """Store `silence` as given (id included); the caller validated it."""
    await conn.execute(silences.insert().values(to_row(silence, tenant)))
    return silence


async def get(conn: AsyncConnection, tenant: str, silence_id: str, *, lock: bool = False) -> Silence | None:
    """One silence of `tenant`; `lock` holds its row until the transaction ends (not on SQLite,
    whose write transactions hold the whole database already)."""
    query = select(silences).where(silences.c.id == silence_id, silences.c.tenant == tenant)
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return from_row(row._mapping) if row else None


async def list_silences(
    conn: AsyncConnection,
    tenant: str,
    *,
    now: datetime,
    state: SilenceState | None = None,
    matchers: Sequence[Matcher] = (),
) -> list[Silence]:
    """The tenant's silences (those in `state` at `now`, if given) that `matches_filter` keeps,
    in Alertmanager's order (`sort_silences`)."""
    query = select(silences).where(silences.c.tenant == tenant)
    if state is SilenceState.PENDING:
        query = query.where(silences.c.starts_at > now)
    elif state is SilenceState.ACTIVE:
        query = query.where(silences.c.starts_at <= now, silences.c.ends_at >= now)
    elif state is SilenceState.EXPIRED:
        query = query.where(silences.c.ends_at < now)
    found = [from_row(r._mapping) for r in await conn.execute(query)]
    return sort_silences([s for s in found if matches_filter(s, matchers)], now)


def matches_filter(silence: Silence, matchers: Sequence[Matcher]) -> bool:
    """Alertmanager's silence filter (`GET /api/v2/silences?filter=…`, `amtool silence query`):
    every filter matcher equals one of the silence's matchers (name, operator and value)."""
    return all(wanted in silence.matchers for wanted in matchers)


_STATE_ORDER = {SilenceState.ACTIVE: 0, SilenceState.PENDING: 1, SilenceState.EXPIRED: 2}


def sort_silences(found: list[Silence], now: datetime) -> list[Silence]:
    """Alertmanager's order: active ones ending soonest first, then pending ones starting soonest
    first, then expired ones, the latest ended first."""

    def key(silence: Silence) -> tuple[int, float, str]:
        state = silence.state(now)
        if state is SilenceState.ACTIVE:
            at = silence.ends_at.timestamp()
        elif state is SilenceState.PENDING:
            at = silence.starts_at.timestamp()
        else:
            at = -silence.ends_at.timestamp()
        return _STATE_ORDER[state], at, silence.id

    return sorted(found, key=key)


_IN_FORCE = (
    select(silences)
    .where(silences.c.tenant == bindparam("tenant"), silences.c.ends_at >= bindparam("now"))
    .order_by(silences.c.id)
)


async def in_force(conn: AsyncConnection, tenant: str, now: datetime) -> list[Silence]:
    """The tenant's silences not expired at `now` (active or pending), in one query on the
    (tenant, ends_at) index. Muting asks each one `is_active(now)` / `matches(labels)`."""
    return [from_row(r._mapping) for r in await conn.execute(_IN_FORCE, {"tenant": tenant, "now": now})]


async def update(conn: AsyncConnection, tenant: str, old: Silence, new: Silence, now: datetime) -> Silence:
    """Change `old` into `new` as Alertmanager's `Silences.Set` does; returns the silence now in use.

    `old` is the stored silence as `get(..., lock=True)` read it in this transaction; `new` is
    valid (`validate_silence(new, now=now)`). When `can_update(old, new, now)`, `old` changes in
    place and keeps its id (an active one keeps its exact start). Otherwise `old` is expired (if it
    is not already) and `new` is stored under a new id, starting no earlier than `now`.
    """
    if can_update(old, new, now):
        starts_at = old.starts_at if old.is_active(now) else new.starts_at
        changed = dataclasses.replace(new, id=old.id, starts_at=starts_at, updated_at=now)
        await _save_times(conn, tenant, changed, comment=True)
        return changed
    if old.state(now) is not SilenceState.EXPIRED:
        await _save_times(conn, tenant, old.expire(now), comment=False)
    replacement = dataclasses.replace(starting_no_earlier_than(new, now), id=new_id())
    return await create(conn, replacement, tenant)


async def expire(conn: AsyncConnection, tenant: str, silence_id: str, now: datetime) -> Expiry:
    """Expire a silence now (Alertmanager's `Expire`): an active one ends now, a pending one starts
    and ends now. One already expired is left alone and reported as such."""
    silence = await get(conn, tenant, silence_id, lock=True)
    if silence is None:
        return Expiry(None)
    if silence.state(now) is SilenceState.EXPIRED:
        return Expiry(silence, already=True)
    expired = silence.expire(now)
    await _save_times(conn, tenant, expired, comment=False)
    return Expiry(expired)


async def _save_times(conn: AsyncConnection, tenant: str, silence: Silence, *, comment: bool) -> None:
    values: dict[str, Any] = {
        "starts_at": silence.starts_at,
        "ends_at": silence.ends_at,
        "updated_at": silence.updated_at,
    }
    if comment:
        values.update(created_by=silence.created_by, comment=silence.comment)
    where = (silences.c.id == silence.id, silences.c.tenant == tenant)
    await conn.execute(sql_update(silences).where(*where).values(values))


async def counts_by_state(conn: AsyncConnection, now: datetime) -> dict[SilenceState, int]:
    """How many silences of every tenant are in each state at `now` (for the metrics)."""
    state = case(
        (silences.c.starts_at > now, SilenceState.PENDING.value),
        (silences.c.ends_at < now, SilenceState.EXPIRED.value),
        else_=SilenceState.ACTIVE.value,
    )
    rows = await conn.execute(select(state, func.count()).group_by(state))
    counts = dict.fromkeys(SilenceState, 0)
    for name, n in rows:
        counts[SilenceState(name)] = int(n)
    return counts
