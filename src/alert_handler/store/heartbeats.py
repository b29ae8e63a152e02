"""Heartbeat rows, and the alerts they fire and resolve, written in the same transaction through
the ingest path (`alert_writes.store_batch`), so an alert here behaves as any other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.domain import heartbeat
from alert_handler.domain.alert import IngestResult
from alert_handler.domain.severity import Severity
from alert_handler.store.alert_writes import store_batch
from alert_handler.store.locking import claim
from alert_handler.store.tables import heartbeats_table as t

SWEEP_ACTOR = "system:heartbeats"


@dataclass(frozen=True, slots=True)
class Beat:
    row: dict[str, Any]
    created: bool
    resolved: IngestResult | None  # the alert the beat resolved, if it was firing


def _locked(tenant: str, name: str, conn: AsyncConnection) -> Any:
    query = select(t).where(t.c.tenant == tenant, t.c.name == name)
    return query if conn.dialect.name == "sqlite" else query.with_for_update()


async def beat(
    conn: AsyncConnection,
    *,
    tenant: str,
    name: str,
    window: timedelta | None,
    severity: Severity | None,
    actor: str,
    now: datetime,
) -> Beat:
    """Record a beat (creating the heartbeat on its first); resolve its alert if it fired.
    A concurrent first beat of the same name makes the insert fail (IntegrityError): retry."""
    found = (await conn.execute(_locked(tenant, name, conn))).first()
    if found is None:
        window = window or heartbeat.DEFAULT_TIMEOUT
        values = {
            "tenant": tenant, "name": name, "timeout_seconds": window.total_seconds(),
            "severity": (severity or Severity.CRITICAL).value, "last_beat_at": now, "expires_at": now + window,
            "alerting_since": None, "created_by": actor, "created_at": now, "updated_at": now,
        }  # fmt: skip
        await conn.execute(insert(t).values(values))
        return Beat(values, created=True, resolved=None)
    row = dict(found._mapping)
    window = window or timedelta(seconds=row["timeout_seconds"])
    changes = {
        "timeout_seconds": window.total_seconds(), "severity": (severity or Severity(row["severity"])).value,
        "last_beat_at": now, "expires_at": now + window, "alerting_since": None, "updated_at": now,
    }  # fmt: skip
    await conn.execute(update(t).where(t.c.id == row["id"]).values(changes))
    resolved = None
    if row["alerting_since"] is not None:
        back = heartbeat.returned_alert(tenant=tenant, name=name, severity=Severity(row["severity"]), actor=actor)
        resolved = (await store_batch(conn, [back], now))[0]
    return Beat({**row, **changes}, created=False, resolved=resolved)


async def missed(conn: AsyncConnection, now: datetime, limit: int) -> list[IngestResult]:
    """Fire the alert of every heartbeat past its timeout that is not alerting yet."""
    query = select(t).where(t.c.expires_at <= now, t.c.alerting_since.is_(None)).order_by(t.c.expires_at)
    rows = [dict(r._mapping) for r in await conn.execute(claim(query.limit(limit), conn))]
    if not rows:
        return []
    alerts = [
        heartbeat.missing_alert(
            tenant=r["tenant"],
            name=r["name"],
            severity=Severity(r["severity"]),
            last_beat_at=r["last_beat_at"],
            timeout=timedelta(seconds=r["timeout_seconds"]),
            actor=SWEEP_ACTOR,
        )
        for r in rows
    ]
    await conn.execute(update(t).where(t.c.id.in_([r["id"] for r in rows])).values(alerting_since=now))
    return await store_batch(conn, alerts, now)


async def list_all(conn: AsyncConnection, tenant: str) -> list[dict[str, Any]]:
    rows = await conn.execute(select(t).where(t.c.tenant == tenant))
    return sorted((dict(r._mapping) for r in rows), key=lambda r: r["name"])


async def remove(conn: AsyncConnection, *, tenant: str, name: str, actor: str, now: datetime) -> bool | IngestResult:
    """Delete a heartbeat; its alert, if firing, is resolved. False when there was none."""
    found = (await conn.execute(_locked(tenant, name, conn))).first()
    if found is None:
        return False
    row = dict(found._mapping)
    await conn.execute(delete(t).where(t.c.id == row["id"]))
    if row["alerting_since"] is None:
        return True
    back = heartbeat.returned_alert(tenant=tenant, name=name, severity=Severity(row["severity"]), actor=actor)
    return (await store_batch(conn, [back], now))[0]
