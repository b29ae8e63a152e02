"""Celery tasks: thin, they call the same services as the embedded worker.

Each worker process keeps one event loop, one engine and one pipeline, made on its first task
(after the fork), and runs the async services on that loop.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loguru import logger

from alert_handler.processing.run import TickState, run_once, tick
from alert_handler.store import pending
from alert_handler.worker.app import PROCESS_TASK, TICK_TASK, celery_app
from alert_handler.worker.context import WorkerContext

_context: WorkerContext | None = None
SWEEP_AFTER = timedelta(seconds=3)


def _run(make: Any) -> Any:
    global _context
    if _context is None:
        _context = WorkerContext.create()
    return _context.run(make(_context))


@celery_app.task(name=PROCESS_TASK)  # type: ignore[untyped-decorator]
def process_alerts(alert_ids: list[int]) -> int:
    """Process owed alerts and send what their groups decided.

    The ids say which commit sent the task; the task takes every alert owed (oldest first, up to
    PROCESSING_BATCH, skipping those another worker holds), so under load one task does the work of
    many commits and the tasks behind it find little left: the batch grows with the backlog.
    A task whose alerts an earlier one took ends after one read (their own tasks, or the
    sweep, see to any other alerts still owed)."""

    async def work(ctx: WorkerContext) -> int:
        if not await pending.any_owed(ctx.pipeline.engine, alert_ids):
            return 0
        await ctx.refresh_config()
        report = await run_once(ctx.pipeline)
        return report.processed

    done: int = _run(work)
    return done


@celery_app.task(name=TICK_TASK)  # type: ignore[untyped-decorator]
def scheduler_tick() -> dict[str, int]:
    """The schedule's work, and the sweep for anything owed that no task finished."""

    async def work(ctx: WorkerContext) -> dict[str, int]:
        await ctx.refresh_config()
        report = await tick(ctx.pipeline, ctx.tick_state, sweep_after=SWEEP_AFTER)
        if report.busy:
            logger.info(
                "tick: {} processed, {} notifications, {} sent, {} escalated, {} expired",
                report.processed, report.notifications, report.delivered.sent, report.escalated, report.expired,
            )  # fmt: skip
        return {"processed": report.processed, "sent": report.delivered.sent}

    found: dict[str, int] = _run(work)
    return found


__all__ = ["TickState", "process_alerts", "scheduler_tick"]
