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

from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.domain.alert import IncomingAlert, IngestResult, Status
from alert_handler.domain.dedup import Change, Creation, Event, KeyPlan, OpenState, plan_key, resolution_time
from alert_handler.domain.severity import Severity
from alert_handler.store.bulk import Bulk, Occurrence, bulk_for

_MAX_ROUNDS = 64


async def store_batch(conn: AsyncConnection, batch: Sequence[IncomingAlert], now: datetime) -> list[IngestResult]:
    """Store `batch` inside the caller's transaction; one result per alert, in order."""
    return await store_with(await bulk_for(conn), batch, now)


async def store_with(bulk: Bulk, batch: Sequence[IncomingAlert], now: datetime) -> list[IngestResult]:
    """Store `batch` through `bulk`, inside its transaction; one result per alert, in order."""
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
        waiting = await _round(bulk, waiting, results, now)
    else:
        raise RuntimeError("de-duplication did not settle; concurrent writers kept winning the same inserts")
    return [r for r in results if r is not None]


async def _round(
    bulk: Bulk,
    waiting: dict[str, list[tuple[int, IncomingAlert]]],
    results: list[IngestResult | None],
    now: datetime,
) -> dict[str, list[tuple[int, IncomingAlert]]]:
    latest = await _latest_occurrences(bulk, waiting)
    plans: dict[str, KeyPlan] = {}
    unsettled: list[str] = []
    for key, arrivals in waiting.items():
        state = latest.get(key)
        if state is not None and state.open and not state.locked:
            unsettled.append(key)  # resolved by another writer since we read it: read again next round
            continue
        if state is not None and state.open:
            plans[key] = plan_key(arrivals, OpenState(state.id, Status(state.status), Severity(state.severity)), None)
        else:
            plans[key] = plan_key(arrivals, None, state.id if state is not None else None)

    creations = {key: plan.creation for key, plan in plans.items() if plan.creation is not None}
    # A plan that creates changes no stored alert, so the changes do not depend on the inserts.
    changes = sorted((plan.change for plan in plans.values() if plan.change), key=lambda c: c.id)
    inserted = await bulk.write(
        # In key order, as the locks are taken: concurrent writers inserting the same new alerts
        # wait for each other instead of deadlocking.
        [_creation_row(creations[key], now) for key in sorted(creations)],
        [_refresh_row(c, now) for c in changes if c.latest is not None],
        [_event_row(event, now) for plan in plans.values() for event in plan.events],
    )
    for alert_id, tenant, fingerprint in inserted:
        creations[IncomingAlert.key_of(tenant, fingerprint)].id = alert_id
    lost = [key for key, creation in creations.items() if creation.id is None]
    for key in lost:
        del plans[key]  # another writer created it first: plan these arrivals again next round
    resolves = [_resolve_row(c, now) for c in changes if c.resolved_by is not None]
    if resolves:
        await bulk.resolve(resolves)

    later: dict[str, list[tuple[int, IncomingAlert]]] = {key: waiting[key] for key in (*lost, *unsettled)}
    for key, plan in plans.items():
        for result in plan.results:
            target_id = result.target if isinstance(result.target, int) else result.target.id
            assert target_id is not None
            alert = waiting[key][0][1]
            results[result.index] = IngestResult(target_id, alert.fingerprint, result.outcome, result.status)
        if plan.consumed < len(waiting[key]):
            later[key] = waiting[key][plan.consumed :]
    return later


async def _latest_occurrences(bulk: Bulk, waiting: dict[str, list[tuple[int, IncomingAlert]]]) -> dict[str, Occurrence]:
    by_tenant: dict[str, list[str]] = defaultdict(list)
    for arrivals in waiting.values():
        first = arrivals[0][1]
        by_tenant[first.tenant].append(first.fingerprint)
    latest: dict[str, Occurrence] = {}
    for tenant, fingerprints in sorted(by_tenant.items()):  # one lock order for every writer
        for occurrence in await bulk.latest(tenant, fingerprints):
            latest[IncomingAlert.key_of(tenant, occurrence.fingerprint)] = occurrence
    return latest


def _content(alert: IncomingAlert) -> dict[str, Any]:
    """What the latest arrival of an alert says about it: kept as sent, repeat after repeat."""
    return {
        "title": alert.title,
        "description": alert.description,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "tags": alert.tags,
        "metadata": alert.metadata,
        "generator_url": alert.generator_url,
    }


def _creation_row(creation: Creation, now: datetime) -> dict[str, Any]:
    first, latest, resolved_with = creation.first, creation.latest, creation.resolved_with
    return {
        "tenant": first.tenant,
        "fingerprint": first.fingerprint,
        "active_key": None if resolved_with else first.active_key,
        "previous_id": creation.previous_id,
        "status": Status.RESOLVED.value if resolved_with else Status.FIRING.value,
        "severity": latest.severity.value,
        "sent_severity": latest.severity.value,
        "source": first.source,
        **_content(latest),
        "dedup_key": first.dedup_key,
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


def _refresh_row(change: Change, now: datetime) -> dict[str, Any]:
    latest = change.latest
    assert latest is not None
    return {
        "id": change.id,
        **_content(latest),
        "ends_at": latest.ends_at,
        "severity": latest.severity.value,
        "duplicates": change.duplicates,
        # Processed again: rules may read what changed (metadata, severity) and restore enrichment.
        "pending_since": now,
        "now": now,
    }


def _resolve_row(change: Change, now: datetime) -> dict[str, Any]:
    assert change.resolved_by is not None
    return {
        "id": change.id,
        "ends_at": resolution_time(change.resolved_by, now),
        "resolved_by": change.resolved_by.actor,
        "now": now,
    }


def _event_row(event: Event, now: datetime) -> dict[str, Any]:
    new = None if isinstance(event.target, int) else event.target.first
    return {
        "alert_id": event.target if isinstance(event.target, int) else None,
        "tenant": new.tenant if new else None,
        "fingerprint": new.fingerprint if new else None,
        "at": now,
        "kind": event.kind.value,
        "actor": event.actor,
        "detail": event.detail,
    }
