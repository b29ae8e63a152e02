"""Send due notifications through their receiver's channel; retry with backoff; record each attempt.

Claiming a notification (one short transaction) leases it to this sender; the send happens
outside any transaction; the outcome is recorded in a second one. A sender that dies leaves a
lease that runs out, and the notification is claimed again (so a receiver may, rarely, see it
twice: the `X-Alert-Handler-Notification` key tells the copies apart).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from loguru import logger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler import db
from alert_handler.channels.base import Delivery, Message, MessageAlert, common_items
from alert_handler.domain.alert import EventKind
from alert_handler.processing import storm
from alert_handler.processing.claimed import Claimed
from alert_handler.processing.pipeline import Limits, Pipeline
from alert_handler.store import groups as group_store
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
    postponed: int = 0


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


def message(
    notification: dict[str, Any],
    by_id: dict[int, dict[str, Any]],
    external_url: str,
    thread: dict[str, str] | None = None,
) -> Message:
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
        thread=dict(thread or {}),
    )


def digest(batch: list[dict[str, Any]], by_id: dict[int, dict[str, Any]], external_url: str) -> Message:
    """One message carrying every alert of several notifications (storm protection)."""
    firing_ids = sorted({i for n in batch for i in n["firing"]})
    resolved_ids = sorted({i for n in batch for i in n["resolved"]} - set(firing_ids))
    firing = [_alert(by_id[i], external_url) for i in firing_ids if i in by_id]
    resolved = [_alert(by_id[i], external_url) for i in resolved_ids if i in by_id]
    ids = sorted(n["id"] for n in batch)
    return Message(
        key=f"digest:{batch[0]['receiver']}:{ids[0]}-{ids[-1]}:{len(ids)}",
        receiver=batch[0]["receiver"],
        kind="digest",
        status="firing" if firing else "resolved",
        group_key="digest",
        group_labels=common_items([n["group_labels"] for n in batch]),
        firing=firing,
        resolved=resolved,
        external_url=external_url,
        merged=len(batch),
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
    threads = await group_store.threads(conn, {n["group_id"] for n in found if n["group_id"] is not None})
    return Claimed(found, {r.id: dict(r._mapping) for r in rows}, threads)


async def deliver(pipeline: Pipeline, *, ids: Sequence[int] | None = None) -> Delivered:
    """Claim due notifications (all, or these), send them, record what happened."""
    async with db.write(pipeline.engine) as conn:
        claimed = await claim(conn, pipeline, pipeline.clock(), ids=ids)
    return await send(pipeline, claimed)


async def send(pipeline: Pipeline, claimed: Claimed) -> Delivered:
    """Send claimed notifications concurrently, within each receiver's storm limit. Each
    receiver's outcomes are recorded as soon as its sends finish, so a slow service never holds
    back what the others delivered."""
    if not claimed.notifications:
        return Delivered()
    by_id = claimed.alerts
    config = pipeline.snapshot().config
    now = pipeline.clock()
    per_minute = _per_minute(pipeline, config, {n["receiver"] for n in claimed.notifications})
    recent = await _recent(pipeline, [r for r, limit in per_minute.items() if limit > 0], now)
    planned = storm.plan(claimed.notifications, per_minute, recent, now)
    pipeline.window.record(
        (batch[0]["receiver"] for batch in planned.messages if per_minute[batch[0]["receiver"]]), now
    )
    by_receiver: dict[str, list[tuple[list[dict[str, Any]], Message]]] = defaultdict(list)
    for batch in planned.messages:
        msg = (
            message(batch[0], by_id, pipeline.external_url, claimed.threads.get(batch[0]["group_id"]))
            if len(batch) == 1
            else digest(batch, by_id, pipeline.external_url)
        )
        by_receiver[msg.receiver].append((batch, msg))
    report = Delivered()
    if planned.postponed:
        logger.info(
            "storm protection: {} notification(s) to {} wait for the receiver's minute to free",
            len(planned.postponed), ", ".join(sorted({n["receiver"] for n, _ in planned.postponed})),
        )  # fmt: skip
        report.postponed += len(planned.postponed)
        async with db.write(pipeline.engine) as conn:
            await notification_store.postpone(conn, [(n["id"], until) for n, until in planned.postponed])

    async def one_receiver(sends: list[tuple[list[dict[str, Any]], Message]]) -> None:
        results = await asyncio.gather(*(_send(pipeline, config, msg) for _, msg in sends))
        await _record(
            pipeline, [(batch, msg, result) for (batch, msg), result in zip(sends, results, strict=True)], report
        )

    await asyncio.gather(*(one_receiver(sends) for sends in by_receiver.values()))
    return report


async def _record(
    pipeline: Pipeline, sent: list[tuple[list[dict[str, Any]], Message, Delivery]], report: Delivered
) -> None:
    """Record the outcome of each message for every notification it carried, in one transaction."""
    done = pipeline.clock()
    outcomes, new_events = [], []
    new_threads: dict[int, dict[str, str]] = {}
    for batch, msg, result in sent:
        if result.ok and result.reply and msg.merged == 1 and batch[0]["group_id"] is not None and not msg.thread:
            new_threads[batch[0]["group_id"]] = result.reply
        for notification in batch:
            outcome, kind, detail = _outcome(notification, result, done, pipeline.limits)
            outcome["_sent_as"] = msg.key if result.ok else None
            if msg.merged > 1:
                detail["digest_of"] = msg.merged
            outcomes.append(outcome)
            if not result.ok:
                logger.warning(
                    "notification {} to {} failed (attempt {}): {}; {}",
                    notification["id"], notification["receiver"], notification["attempts"], result.error,
                    "gave up" if detail["gave_up"] else f"retrying at {detail['retry_at']}",
                )  # fmt: skip
            _count(report, outcome["_status"])
            for alert_id in (*notification["firing"], *notification["resolved"]):
                new_events.append({"alert_id": alert_id, "at": done, "kind": kind, "actor": ACTOR, "detail": detail})
    async with db.write(pipeline.engine) as conn:
        await notification_store.finish(conn, outcomes)
        await group_store.set_threads(conn, new_threads)
        if new_events:
            await conn.execute(events.insert(), new_events)


def _count(report: Delivered, status: str) -> None:
    if status == NotificationStatus.SENT.value:
        report.sent += 1
    elif status == NotificationStatus.DEAD.value:
        report.dead += 1
    else:
        report.retrying += 1


def _per_minute(pipeline: Pipeline, config: Any, receivers: set[str]) -> dict[str, int]:
    limits = {}
    for receiver in receivers:
        try:
            channel = pipeline.channels.get(config, receiver)
        except Exception:  # reported when sending
            channel = None
        limits[receiver] = channel.settings.per_minute if channel is not None else 0
    return limits


async def _recent(pipeline: Pipeline, receivers: list[str], now: datetime) -> dict[str, storm.Recent]:
    if not receivers:
        return {}
    async with db.read(pipeline.engine) as conn:
        stored = await notification_store.recent_messages(conn, receivers, now - storm.WINDOW)
    return {
        r: storm.combine(storm.Recent(*stored.get(r, (0, None))), pipeline.window.recent(r, now)) for r in receivers
    }


async def _send(pipeline: Pipeline, config: Any, msg: Message) -> Delivery:
    try:
        channel = pipeline.channels.get(config, msg.receiver)
    except Exception as exc:  # settings a channel refuses: no retry can help
        return Delivery.failed(f"receiver {msg.receiver!r} cannot be built: {type(exc).__name__}", retry=False)
    if channel is None:
        return Delivery.failed(f"receiver {msg.receiver!r} is not configured", retry=False)
    if not msg.alerts:
        return Delivery.sent()
    held = pipeline.breakers.closed_for(msg.receiver, pipeline.clock())
    if held is not None:
        return held
    started = time.perf_counter()
    try:
        result = await channel.send(msg)
    except Exception as exc:
        logger.opt(exception=exc).warning("channel of receiver {} raised", msg.receiver)
        result = Delivery.failed(f"channel error ({type(exc).__name__})", retry=True)
    pipeline.breakers.record(msg.receiver, result, pipeline.clock())
    if pipeline.stats is not None:
        receiver = config.receiver(msg.receiver)
        outcome = "sent" if result.ok else "failed"
        pipeline.stats.observe_send(receiver.type, msg.receiver, outcome, time.perf_counter() - started)
    return result


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
    wait = backoff(notification["attempts"], limits)
    if result.retry_after is not None:
        wait = max(wait, timedelta(seconds=result.retry_after))
    retry_at = now + wait
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
