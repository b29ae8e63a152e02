"""Send due notifications through their receiver's channel; retry with backoff; record each attempt.

Claiming a notification (one short transaction) leases it to this sender; the send happens
outside any transaction; the outcome is recorded in a second one. A sender that dies leaves a
lease that runs out, and the notification is claimed again (so a receiver may, rarely, see it
twice: the `X-Alert-Handler-Notification` key tells the copies apart).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from loguru import logger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler import db
from alert_handler.channels.base import Delivery, Message, MessageAlert
from alert_handler.domain.alert import EventKind
from alert_handler.processing.claimed import Claimed
from alert_handler.processing.pipeline import Limits, Pipeline
from alert_handler.store import notifications as notification_store
from alert_handler.store.notifications import NotificationStatus
from alert_handler.store.tables import alerts_table as alerts
from alert_handler.store.tables import events_table as events

ACTOR = "system:notify"


@dataclass(slots=True)
class Delivered:
    sent: int = 0
    retrying: int = 0
    dead: int = 0


def backoff(attempts: int, limits: Limits, rand: random.Random | None = None) -> timedelta:
    """Exponential, capped, with jitter (so receivers that failed together do not retry together)."""
    base = min(limits.retry_max, limits.retry_base * (1 << min(max(attempts - 1, 0), 30)))
    jitter: float = 0.5 + (rand or random).random()
    return base * jitter


def _alert(row: dict[str, Any], external_url: str) -> MessageAlert:
    return MessageAlert(
        id=row["id"], fingerprint=row["fingerprint"], status=row["status"], severity=row["severity"],
        source=row["source"], title=row["title"], description=row["description"], labels=dict(row["labels"]),
        annotations=dict(row["annotations"]), tags=list(row["tags"]), starts_at=row["starts_at"],
        ends_at=row["ends_at"], generator_url=row["generator_url"],
        url=f"{external_url.rstrip('/')}/api/v1/alerts/{row['id']}" if external_url else "",
    )  # fmt: skip


def message(notification: dict[str, Any], by_id: dict[int, dict[str, Any]], external_url: str) -> Message:
    firing = [_alert(by_id[i], external_url) for i in notification["firing"] if i in by_id]
    resolved = [_alert(by_id[i], external_url) for i in notification["resolved"] if i in by_id]
    return Message(
        key=notification["dedup_key"],
        receiver=notification["receiver"],
        kind=notification["kind"],
        status="firing" if firing else "resolved",
        group_key=str(notification["group_id"] or notification["dedup_key"]),
        group_labels=dict(notification["group_labels"]),
        firing=firing,
        resolved=resolved,
        external_url=external_url,
    )


async def claim(
    conn: AsyncConnection, pipeline: Pipeline, now: datetime, *, ids: Sequence[int] | None = None
) -> Claimed:
    """Lease due notifications (all, or these) in the caller's transaction; send after it commits."""
    found = await notification_store.claim_due(conn, now, pipeline.limits.lease, ids=ids, limit=pipeline.limits.batch)
    if not found:
        return Claimed([], {})
    alert_ids = sorted({i for n in found for i in (*n["firing"], *n["resolved"])})
    rows = await conn.execute(select(alerts).where(alerts.c.id.in_(alert_ids)))
    return Claimed(found, {r.id: dict(r._mapping) for r in rows})


async def deliver(pipeline: Pipeline, *, ids: Sequence[int] | None = None) -> Delivered:
    """Claim due notifications (all, or these), send them, record what happened."""
    async with db.write(pipeline.engine) as conn:
        claimed = await claim(conn, pipeline, pipeline.clock(), ids=ids)
    return await send(pipeline, claimed)


async def send(pipeline: Pipeline, claimed: Claimed) -> Delivered:
    """Send claimed notifications concurrently, then record every outcome in one transaction."""
    if not claimed.notifications:
        return Delivered()
    by_id = claimed.alerts
    claimed_rows = claimed.notifications
    config = pipeline.snapshot().config
    messages = [message(n, by_id, pipeline.external_url) for n in claimed_rows]
    results = await asyncio.gather(*(_send(pipeline, config, m) for m in messages))
    done = pipeline.clock()
    outcomes, new_events, report = [], [], Delivered()
    for notification, result in zip(claimed_rows, results, strict=True):
        outcome, kind, detail = _outcome(notification, result, done, pipeline.limits)
        outcomes.append(outcome)
        if not result.ok:
            logger.warning(
                "notification {} to {} failed (attempt {}): {}; {}",
                notification["id"], notification["receiver"], notification["attempts"], result.error,
                "gave up" if detail["gave_up"] else f"retrying at {detail['retry_at']}",
            )  # fmt: skip
        if outcome["_status"] == NotificationStatus.SENT.value:
            report.sent += 1
        elif outcome["_status"] == NotificationStatus.DEAD.value:
            report.dead += 1
        else:
            report.retrying += 1
        for alert_id in (*notification["firing"], *notification["resolved"]):
            new_events.append({"alert_id": alert_id, "at": done, "kind": kind, "actor": ACTOR, "detail": detail})
    async with db.write(pipeline.engine) as conn:
        await notification_store.finish(conn, outcomes)
        if new_events:
            await conn.execute(events.insert(), new_events)
    return report


async def _send(pipeline: Pipeline, config: Any, msg: Message) -> Delivery:
    try:
        channel = pipeline.channels.get(config, msg.receiver)
    except Exception as exc:  # settings a channel refuses: no retry can help
        return Delivery.failed(f"receiver {msg.receiver!r} cannot be built: {type(exc).__name__}", retry=False)
    if channel is None:
        return Delivery.failed(f"receiver {msg.receiver!r} is not configured", retry=False)
    if not msg.alerts:
        return Delivery.sent()
    try:
        return await channel.send(msg)
    except Exception as exc:
        logger.opt(exception=exc).warning("channel of receiver {} raised", msg.receiver)
        return Delivery.failed(f"channel error ({type(exc).__name__})", retry=True)


def _outcome(
    notification: dict[str, Any], result: Delivery, now: datetime, limits: Limits
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    detail: dict[str, Any] = {
        "receiver": notification["receiver"],
        "notification_id": notification["id"],
        "kind": notification["kind"],
        "attempt": notification["attempts"],
    }
    if result.ok:
        row = {"_id": notification["id"], "_status": "sent", "_next": None, "_error": None, "_sent_at": now}
        return row, EventKind.NOTIFIED.value, detail
    retry_at = now + backoff(notification["attempts"], limits)
    give_up = not result.retry or retry_at > notification["deadline"]
    status = NotificationStatus.DEAD if give_up else NotificationStatus.PENDING
    detail.update(error=result.error, gave_up=give_up)
    if not give_up:
        detail["retry_at"] = retry_at.isoformat()
    row = {
        "_id": notification["id"], "_status": status.value, "_next": None if give_up else retry_at,
        "_error": result.error[:2000], "_sent_at": None,
    }  # fmt: skip
    return row, EventKind.NOTIFICATION_FAILED.value, detail
