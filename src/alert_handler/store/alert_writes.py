"""Writes one batch of incoming alerts: de-duplicated, upserted and timelined in one transaction.

The decisions come from `domain.dedup`; this module only loads the state they need and writes
what they decide. Concurrent writers (other requests, other processes) meet at the unique
`active_key`: an insert that loses the race is skipped (`ON CONFLICT DO NOTHING` / `INSERT
IGNORE`), and its arrivals are planned again against the row that won.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, bindparam, func, insert, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.domain.alert import IncomingAlert, IngestResult, Status
from alert_handler.domain.dedup import Change, Creation, Event, KeyPlan, OpenState, plan_key, resolution_time
from alert_handler.domain.severity import Severity
from alert_handler.store.tables import alerts_table as alerts
from alert_handler.store.tables import events_table as events

_MAX_ROUNDS = 64
_UPDATE_COLUMNS = (
    "status", "active_key", "severity", "title", "description", "labels", "annotations", "tags",
    "metadata", "generator_url", "ends_at", "last_received_at", "duplicate_count", "resolved_by",
    "resolved_at", "pending_since", "updated_at",
)  # fmt: skip
_UPDATE = (
    update(alerts)
    .where(alerts.c.id == bindparam("_id"))
    .values({name: bindparam(f"_{name}") for name in _UPDATE_COLUMNS})
)


async def store_batch(conn: AsyncConnection, batch: Sequence[IncomingAlert], now: datetime) -> list[IngestResult]:
    """Store `batch` inside the caller's transaction; one result per alert, in order."""
    results: list[IngestResult | None] = [None] * len(batch)
    waiting: dict[str, list[tuple[int, IncomingAlert]]] = defaultdict(list)
    for index, alert in enumerate(batch):
        waiting[alert.active_key].append((index, alert))

    # A round settles at least the first waiting arrival of every identity, unless its insert
    # lost a race to a concurrent writer; `_MAX_ROUNDS` bounds those lost races.
    rounds = max((len(arrivals) for arrivals in waiting.values()), default=0) + _MAX_ROUNDS
    for _ in range(rounds):
        if not waiting:
            break
        waiting = await _round(conn, waiting, results, now)
    else:
        raise RuntimeError("de-duplication did not settle; concurrent writers kept winning the same inserts")
    return [r for r in results if r is not None]


async def _round(
    conn: AsyncConnection,
    waiting: dict[str, list[tuple[int, IncomingAlert]]],
    results: list[IngestResult | None],
    now: datetime,
) -> dict[str, list[tuple[int, IncomingAlert]]]:
    open_rows = await _load_open(conn, list(waiting))
    missing = [arrivals[0][1] for key, arrivals in waiting.items() if key not in open_rows]
    previous = await _latest_occurrences(conn, missing) if missing else {}

    plans: dict[str, KeyPlan] = {}
    for key, arrivals in waiting.items():
        row = open_rows.get(key)
        state = OpenState(row["id"], Status(row["status"]), Severity(row["severity"])) if row else None
        plans[key] = plan_key(arrivals, state, previous.get(key))

    lost = await _insert_creations(conn, plans, now)
    for key in lost:
        del plans[key]  # another writer created it first: plan these arrivals again next round
    changes = [_changed_row(open_rows[key], plan.change, now) for key, plan in plans.items() if plan.change]
    if changes:
        await conn.execute(_UPDATE, changes)
    new_events = [_event_row(event, now) for plan in plans.values() for event in plan.events]
    if new_events:
        await conn.execute(insert(events), new_events)

    later: dict[str, list[tuple[int, IncomingAlert]]] = {key: waiting[key] for key in lost}
    for key, plan in plans.items():
        for result in plan.results:
            target_id = result.target if isinstance(result.target, int) else result.target.id
            assert target_id is not None
            alert = waiting[key][0][1]
            results[result.index] = IngestResult(target_id, alert.fingerprint, result.outcome, result.status)
        if plan.consumed < len(waiting[key]):
            later[key] = waiting[key][plan.consumed :]
    return later


async def _load_open(conn: AsyncConnection, keys: list[str]) -> dict[str, dict[str, Any]]:
    query = select(alerts).where(alerts.c.active_key.in_(keys)).order_by(alerts.c.active_key)
    if conn.dialect.name != "sqlite":  # SQLite's write transaction already holds the database lock
        query = query.with_for_update()
    rows = await conn.execute(query)
    return {row.active_key: dict(row._mapping) for row in rows}


async def _latest_occurrences(conn: AsyncConnection, missing: list[IncomingAlert]) -> dict[str, int]:
    by_tenant: dict[str, list[str]] = defaultdict(list)
    for alert in missing:
        by_tenant[alert.tenant].append(alert.fingerprint)
    latest: dict[str, int] = {}
    for tenant, fingerprints in by_tenant.items():
        rows = await conn.execute(
            select(alerts.c.fingerprint, func.max(alerts.c.id))
            .where(alerts.c.tenant == tenant, alerts.c.fingerprint.in_(fingerprints))
            .group_by(alerts.c.fingerprint)
        )
        for fingerprint, alert_id in rows:
            latest[IncomingAlert.key_of(tenant, fingerprint)] = alert_id
    return latest


def _insert_ignoring_conflicts(conn: AsyncConnection) -> Insert:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(alerts).on_conflict_do_nothing(index_elements=["active_key"])
    if dialect == "sqlite":
        return sqlite.insert(alerts).on_conflict_do_nothing(index_elements=["active_key"])
    if dialect == "mysql":
        return mysql.insert(alerts).prefix_with("IGNORE")
    raise RuntimeError(f"unsupported database {dialect}")


async def _insert_creations(conn: AsyncConnection, plans: dict[str, KeyPlan], now: datetime) -> list[str]:
    """Insert every planned new alert; return the keys whose insert lost to a concurrent writer."""
    creations = {key: plan.creation for key, plan in plans.items() if plan.creation is not None}
    if not creations:
        return []
    statement = _insert_ignoring_conflicts(conn).returning(alerts.c.id, alerts.c.tenant, alerts.c.fingerprint)
    rows = await conn.execute(statement, [_creation_row(c, now) for c in creations.values()])
    for alert_id, tenant, fingerprint in rows:
        creations[IncomingAlert.key_of(tenant, fingerprint)].id = alert_id
    return [key for key, creation in creations.items() if creation.id is None]


def _creation_row(creation: Creation, now: datetime) -> dict[str, Any]:
    first, latest, resolved_with = creation.first, creation.latest, creation.resolved_with
    return {
        "tenant": first.tenant,
        "fingerprint": first.fingerprint,
        "active_key": None if resolved_with else first.active_key,
        "previous_id": creation.previous_id,
        "status": Status.RESOLVED.value if resolved_with else Status.FIRING.value,
        "severity": latest.severity.value,
        "source": first.source,
        "title": latest.title,
        "description": latest.description,
        "labels": latest.labels,
        "annotations": latest.annotations,
        "tags": latest.tags,
        "metadata": latest.metadata,
        "dedup_key": first.dedup_key,
        "generator_url": latest.generator_url,
        "starts_at": first.starts_at or now,
        "ends_at": resolution_time(resolved_with, now) if resolved_with else latest.ends_at,
        "first_received_at": now,
        "last_received_at": now,
        "duplicate_count": creation.duplicates,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "resolved_by": resolved_with.actor if resolved_with else None,
        "resolved_at": now if resolved_with else None,
        "resolution_note": None,
        "pending_since": now,
        "updated_at": now,
    }


def _changed_row(row: dict[str, Any], change: Change, now: datetime) -> dict[str, Any]:
    values = {name: row[name] for name in _UPDATE_COLUMNS}
    latest = change.latest
    if latest is not None:
        values.update(
            title=latest.title,
            description=latest.description,
            labels=latest.labels,
            annotations=latest.annotations,
            tags=latest.tags,
            metadata=latest.metadata,
            generator_url=latest.generator_url,
            ends_at=latest.ends_at,
            last_received_at=now,
            duplicate_count=row["duplicate_count"] + change.duplicates,
        )
    if change.severity is not None and change.severity.value != row["severity"]:
        values.update(severity=change.severity.value, pending_since=now)
    if change.resolved_by is not None:
        values.update(
            status=Status.RESOLVED.value,
            active_key=None,
            ends_at=resolution_time(change.resolved_by, now),
            resolved_at=now,
            resolved_by=change.resolved_by.actor,
            last_received_at=now,
            pending_since=now,
        )
    values["updated_at"] = now
    params = {f"_{name}": value for name, value in values.items()}
    params["_id"] = change.id
    return params


def _event_row(event: Event, now: datetime) -> dict[str, Any]:
    target = event.target if isinstance(event.target, int) else event.target.id
    return {
        "alert_id": target,
        "at": now,
        "kind": event.kind.value,
        "actor": event.actor,
        "detail": event.detail,
    }
