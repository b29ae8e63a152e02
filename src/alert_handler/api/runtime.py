"""What the app holds while it runs: settings, engine, writer, metrics, key cache, and the
running configuration (`config.current` is the validated snapshot of file + API objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler.api.auth import KeyCache
from alert_handler.ingest.writer import Clock, IngestWriter
from alert_handler.metrics import Metrics
from alert_handler.processing.pipeline import Pipeline
from alert_handler.routing.live import LiveConfig
from alert_handler.settings import Settings
from alert_handler.worker.modes import Worker


@dataclass(slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    writer: IngestWriter
    metrics: Metrics
    keys: KeyCache
    clock: Clock
    config: LiveConfig
    worker: Worker
    pipeline: Pipeline
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


async def runtime(request: Request) -> Runtime:  # async: FastAPI would run a plain def in a thread
    return request.app.state.runtime  # type: ignore[no-any-return]
