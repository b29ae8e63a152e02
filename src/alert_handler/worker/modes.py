"""The worker the API process runs with, by WORKER_MODE: embedded, Celery dispatch, or none."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from alert_handler.processing.pipeline import Pipeline
from alert_handler.settings import Settings


class Worker(Protocol):
    def wake(self, alert_ids: Sequence[int] = ()) -> None:
        """Alerts were stored with work owed: get it done (now, or as soon as possible)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class NoWorker:
    """WORKER_MODE=off: alerts are stored and stay owed until a worker runs."""

    def wake(self, alert_ids: Sequence[int] = ()) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def worker_for(settings: Settings, pipeline: Pipeline, *, ingest_backlog: Callable[[], bool] | None = None) -> Worker:
    """`ingest_backlog` says when alerts wait to be accepted: the embedded worker lets them go first."""
    mode = settings.effective_worker_mode
    if mode == "embedded":
        from alert_handler.worker.embedded import EmbeddedWorker

        return EmbeddedWorker(pipeline, tick_seconds=settings.scheduler_tick_seconds, ingest_backlog=ingest_backlog)
    if mode == "celery":
        from alert_handler.worker.dispatch import CeleryDispatch

        return CeleryDispatch(settings)
    return NoWorker()
