"""Time-driven work: escalation steps that fell due, alerts whose ends_at passed, mute marks that
went stale because a silence started, ended or changed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.domain.alert import OPEN_STATUSES, EventKind, Status
from alert_handler.escalation.policies import step_at
from alert_handler.processing.claimed import Claimed
from alert_handler.processing.muting import load_mutes, marks
from alert_handler.processing.pipeline import Limits, Snapshot
from alert_handler.routing.view import AlertView
from alert_handler.store import notifications as notification_store
from alert_handler.store.locking import claim
from alert_handler.store.notifications import NotificationStatus
from alert_handler.store.tables import alerts_table as alerts
from alert_handler.store.tables import events_table as events
from alert_handler.store.tables import groups_table as groups
from alert_handler.store.tables import members_table as members
from alert_handler.store.tables import notifications_table as notifications
from alert_handler.store.tables import silences_table as silences

ACTOR = "system:scheduler"


def _event(alert_id: int, kind: EventKind, now: datetime, detail: dict[str, Any], actor: str = ACTOR) -> dict[str, Any]:
    return {"alert_id": alert_id, "at": now, "kind": kind.value, "actor": actor, "detail": detail}


async def escalate(conn: AsyncConnection, snapshot: Snapshot, limits: Limits, now: datetime) -> Claimed:
    """Run every escalation step that fell due; the notifications made, leased to the caller."""
    query = select(alerts).where(alerts.c.escalation_due_at <= now).order_by(alerts.c.escalation_due_at)
    rows = [dict(r._mapping) for r in await conn.execute(claim(query.limit(limits.batch), conn))]
    policies = {p.name: p for p in snapshot.config.escalation_policies}
    notifications, new_events = [], []
    for row in rows:
        policy = policies.get(row["escalation_policy"] or "")
        step = step_at(policy, row["first_received_at"], row["escalation_step"]) if policy else None
        values: dict[str, Any] = {"escalation_due_at": None}
        if step is not None and row["status"] == Status.FIRING.value and policy is not None:
            for receiver in step.receivers:
                notifications.append(
                    notification_store.new_row(
                        tenant=row["tenant"], dedup_key=f"escalation:{row['id']}:{step.index}:{receiver}",
                        kind="escalation", receiver=receiver, group_id=None, group_labels={},
                        firing=[row["id"]], resolved=[], now=now, deadline=limits.notify_deadline,
                    )
                )  # fmt: skip
            detail = {"policy": policy.name, "step": step.index, "receivers": list(step.receivers)}
            new_events.append(_event(row["id"], EventKind.ESCALATED, now, detail))
            following = step_at(policy, row["first_received_at"], step.index + 1)
            values = {"escalation_step": step.index + 1, "escalation_due_at": following.due_at if following else None}
        await conn.execute(update(alerts).where(alerts.c.id == row["id"]).values(values))
    if new_events:
        await conn.execute(events.insert(), new_events)
    made = await notification_store.add(conn, notifications, leased_until=now + limits.lease)
    return Claimed(made, {r["id"]: r for r in rows})


async def resolve_expired(conn: AsyncConnection, limits: Limits, now: datetime) -> list[int]:
    """Resolve open alerts whose ends_at has passed (their source stopped re-sending them)."""
    query = (
        select(alerts.c.id, alerts.c.status)
        .where(alerts.c.active_key.is_not(None), alerts.c.ends_at <= now)
        .order_by(alerts.c.ends_at)
        .limit(limits.batch)
    )
    rows = list(await conn.execute(claim(query, conn)))
    if not rows:
        return []
    ids = [r.id for r in rows]
    await conn.execute(
        update(alerts)
        .where(alerts.c.id.in_(ids))
        .values(
            status=Status.RESOLVED.value, active_key=None, resolved_by=ACTOR, resolved_at=now,
            pending_since=now, escalation_due_at=None, updated_at=now,
        )
    )  # fmt: skip
    detail = {"reason": "ends_at passed"}
    await conn.execute(
        events.insert(),
        [_event(r.id, EventKind.RESOLVED, now, {"from": r.status, "to": "resolved", **detail}) for r in rows],
    )
    return ids


async def forget_old(conn: AsyncConnection, now: datetime, retention: timedelta) -> tuple[int, int]:
    """Delete idle groups (and with them their notification log) and finished notifications older
    than `retention`, as Alertmanager's nflog forgets entries after its retention."""
    cutoff = now - retention
    finished = (NotificationStatus.SENT.value, NotificationStatus.DEAD.value)
    old_notifications = await conn.execute(
        delete(notifications).where(notifications.c.status.in_(finished), notifications.c.created_at < cutoff)
    )
    has_members = select(members.c.group_id).where(members.c.group_id == groups.c.id).exists()
    old_groups = await conn.execute(
        delete(groups).where(groups.c.next_flush_at.is_(None), groups.c.updated_at < cutoff, ~has_members)
    )
    return old_groups.rowcount, old_notifications.rowcount


async def silences_changed(conn: AsyncConnection, since: datetime, now: datetime) -> bool:
    """Whether a silence was made, changed, started or ended in (since, now]."""
    query = select(func.count()).where(
        or_(
            silences.c.updated_at > since,
            silences.c.starts_at.between(since, now),
            silences.c.ends_at.between(since, now),
        )
    )
    return bool((await conn.execute(query)).scalar())


async def refresh_marks(conn: AsyncConnection, snapshot: Snapshot, limits: Limits, now: datetime) -> int:
    """Recompute `suppressed_by` of open alerts; returns how many changed."""
    query = select(alerts).where(
        alerts.c.status.in_([s.value for s in OPEN_STATUSES]), alerts.c.pending_since.is_(None)
    )
    rows = [dict(r._mapping) for r in await conn.execute(claim(query.order_by(alerts.c.id), conn))]
    mutes = await load_mutes(conn, snapshot.config, {r["tenant"] for r in rows}, now)
    changed = 0
    for row in rows:
        old = row["suppressed_by"] or []
        rule = next((m["id"] for m in old if m.get("kind") == "rule"), None)
        new = marks(mutes[row["tenant"]].status(AlertView.from_row(row), now), rule)
        if new == old:
            continue
        changed += 1
        await conn.execute(update(alerts).where(alerts.c.id == row["id"]).values(suppressed_by=new or None))
        kind = EventKind.SUPPRESSED if new else EventKind.UNSUPPRESSED
        await conn.execute(events.insert(), [_event(row["id"], kind, now, {"by": new})])
    return changed
