"""Changes people make to an alert: status transitions and notes, each on the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.domain.alert import EventKind, IncomingAlert, Status
from alert_handler.domain.states import transition
from alert_handler.store.tables import alerts_table as alerts
from alert_handler.store.tables import events_table as events


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    """`found` False: no such alert. `refused`: why the change is not allowed (a 409)."""

    found: bool
    refused: str = ""


async def _locked(conn: AsyncConnection, tenant: str, alert_id: int) -> dict[str, Any] | None:
    query = select(alerts).where(alerts.c.id == alert_id, alerts.c.tenant == tenant)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return dict(row._mapping) if row else None


async def change_status(
    conn: AsyncConnection,
    *,
    tenant: str,
    alert_id: int,
    target: Status,
    actor: str,
    note: str | None,
    now: datetime,
) -> UpdateOutcome:
    row = await _locked(conn, tenant, alert_id)
    if row is None:
        return UpdateOutcome(found=False)
    decision = transition(Status(row["status"]), target)
    if not decision.allowed or decision.event is None:
        return UpdateOutcome(found=True, refused=decision.reason)
    values: dict[str, Any] = {"status": target.value, "updated_at": now, "pending_since": now}
    if target in (Status.ACKNOWLEDGED, Status.RESOLVED):
        values["escalation_due_at"] = None  # acknowledging or resolving stops escalation
    if target is Status.ACKNOWLEDGED:
        values.update(acknowledged_by=actor, acknowledged_at=now)
    elif target is Status.RESOLVED:
        values.update(
            active_key=None, resolved_by=actor, resolved_at=now, resolution_note=note,
            ends_at=row["ends_at"] if row["ends_at"] and row["ends_at"] <= now else now,
        )  # fmt: skip
    elif target is Status.FIRING:
        values.update(acknowledged_by=None, acknowledged_at=None)
    await conn.execute(update(alerts).where(alerts.c.id == alert_id).values(values))
    detail = {"from": row["status"], "to": target.value}
    if note:
        detail["note"] = note
    await add_event(conn, alert_id, decision.event, actor, detail, now)
    return UpdateOutcome(found=True)


async def add_note(
    conn: AsyncConnection, *, tenant: str, alert_id: int, actor: str, text: str, now: datetime
) -> UpdateOutcome:
    row = await _locked(conn, tenant, alert_id)
    if row is None:
        return UpdateOutcome(found=False)
    await add_event(conn, alert_id, EventKind.NOTE, actor, {"text": text}, now)
    return UpdateOutcome(found=True)


async def add_event(
    conn: AsyncConnection, alert_id: int, kind: EventKind, actor: str, detail: dict[str, Any], now: datetime
) -> None:
    await conn.execute(insert(events).values(alert_id=alert_id, at=now, kind=kind.value, actor=actor, detail=detail))


async def open_alert_id(conn: AsyncConnection, tenant: str, fingerprint: str) -> int | None:
    """The id of the open alert with this fingerprint, if there is one."""
    key = IncomingAlert.key_of(tenant, fingerprint)
    found = (await conn.execute(select(alerts.c.id).where(alerts.c.active_key == key))).scalar_one_or_none()
    return None if found is None else int(found)
