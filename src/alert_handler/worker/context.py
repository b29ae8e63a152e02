"""What one Celery worker process holds: its event loop, engine, pipeline and schedule state."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from alert_handler.db import create_engine
from alert_handler.ingest.writer import utcnow
from alert_handler.processing.channel_pool import ChannelPool
from alert_handler.processing.pipeline import Pipeline, StaticSnapshot, limits_from
from alert_handler.processing.run import TickState
from alert_handler.routing.config import load_config
from alert_handler.settings import get_settings

_T = TypeVar("_T")


@dataclass(slots=True)
class WorkerContext:
    loop: asyncio.AbstractEventLoop
    pipeline: Pipeline
    tick_state: TickState = field(default_factory=TickState)

    @classmethod
    def create(cls) -> WorkerContext:
        settings = get_settings()
        loop = asyncio.new_event_loop()
        engine = create_engine(settings.database_url, pool_size=4)
        snapshot = StaticSnapshot.of(load_config(settings.resolved_config_file))
        pipeline = Pipeline(
            engine, lambda: snapshot, ChannelPool(), utcnow, limits_from(settings), external_url=settings.public_url
        )
        return cls(loop, pipeline)

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return self.loop.run_until_complete(coro)

    async def refresh_config(self) -> None:
        return None
