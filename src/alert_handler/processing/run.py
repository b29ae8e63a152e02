"""The two entry points both worker modes call: `run_once` right after alerts are stored, `tick`
on a schedule (and as the sweeper that finds whatever work nobody finished)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alert_handler import db
from alert_handler.processing.claimed import Claimed
from alert_handler.processing.deliver import Delivered, claim, send
from alert_handler.processing.flush import flush
from alert_handler.processing.pipeline import Pipeline
from alert_handler.processing.process import process
from alert_handler.processing.sweeps import escalate, forget_old, refresh_marks, resolve_expired, silences_changed
from alert_handler.store import heartbeats

HOUSEKEEPING_EVERY = timedelta(minutes=10)


@dataclass(slots=True)
class Report:
    processed: int = 0
    notifications: int = 0
    delivered: Delivered = field(default_factory=Delivered)
    escalated: int = 0
    expired: int = 0
    remarked: int = 0
    heartbeats_missed: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.processed or self.notifications or self.expired or self.heartbeats_missed)


async def run_once(
    pipeline: Pipeline, *, alert_ids: Sequence[int] | None = None, owed_for: timedelta | None = None
) -> Report:
    """Process owed alerts (these, or any), flush the groups that fell due, send what that decided.

    Deciding and claiming the notifications is one transaction; sending happens after its commit."""
    report, claimed = await decide(pipeline, alert_ids=alert_ids, owed_for=owed_for)
    report.delivered = await send(pipeline, claimed)
    return report


async def decide(
    pipeline: Pipeline, *, alert_ids: Sequence[int] | None = None, owed_for: timedelta | None = None
) -> tuple[Report, Claimed]:
    """`run_once` without the sending: the notifications come back claimed, for the caller to send
    (the embedded worker sends them while it processes what arrived meanwhile)."""
    report = Report()
    snapshot = pipeline.snapshot()
    now = pipeline.clock()
    claimed = Claimed()
    async with db.write(pipeline.engine) as conn:
        owed_since = now - owed_for if owed_for is not None else None
        processed = await process(
            conn, snapshot, now, ids=alert_ids, limit=pipeline.limits.batch, owed_since=owed_since
        )
        if processed.due_groups:
            claimed = await flush(
                conn, snapshot, pipeline.channels, pipeline.limits, now, ids=processed.due_groups,
                mutes=processed.mutes, created=processed.made_groups,
            )  # fmt: skip
    report.processed = len(processed.alert_ids)
    report.notifications = len(claimed.notifications)
    return report, claimed


@dataclass(slots=True)
class TickState:
    """What a process remembers between ticks (when it last looked at silences)."""

    silences_checked_at: datetime | None = None
    housekeeping_at: datetime | None = None


async def tick(pipeline: Pipeline, state: TickState, *, sweep_after: timedelta | None = None) -> Report:
    """Everything time brings due: missed heartbeats (their alerts fire), owed alerts nobody
    processed, group flushes, escalation steps, expired alerts, stale mute marks, notifications
    to (re)try."""
    async with db.write(pipeline.engine) as conn:
        missed = len(await heartbeats.missed(conn, pipeline.clock(), pipeline.limits.batch))
    # With workers that get each alert's ids in a task (Celery), the tick leaves alerts owed for
    # less than `sweep_after` to those tasks and sweeps up only what they did not do.
    report = await run_once(pipeline, owed_for=sweep_after)
    report.heartbeats_missed = missed
    snapshot = pipeline.snapshot()
    now = pipeline.clock()
    housekeeping = state.housekeeping_at is None or now - state.housekeeping_at >= HOUSEKEEPING_EVERY
    # One transaction for the schedule's work: each write transaction holds SQLite's only writer.
    async with db.write(pipeline.engine) as conn:
        report.expired = len(await resolve_expired(conn, pipeline.limits, now))
        claimed = await flush(conn, snapshot, pipeline.channels, pipeline.limits, now)
        escalated = await escalate(conn, snapshot, pipeline.limits, now)
        report.escalated = len(escalated.notifications)
        claimed += escalated
        since = state.silences_checked_at
        if since is None or await silences_changed(conn, since, now):
            report.remarked = await refresh_marks(conn, snapshot, pipeline.limits, now)
        if housekeeping:
            await forget_old(conn, now, pipeline.limits.retention)
        claimed += await claim(conn, pipeline, now)  # retries due, and leases that ran out
    state.silences_checked_at = now
    if housekeeping:
        state.housekeeping_at = now
    report.notifications += len(claimed.notifications)
    delivered = await send(pipeline, claimed)
    report.delivered.sent += delivered.sent
    report.delivered.retrying += delivered.retrying
    report.delivered.dead += delivered.dead
    report.delivered.postponed += delivered.postponed
    return report
