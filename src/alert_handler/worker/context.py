"""What one Celery worker process holds: its event loop, engine, pipeline, the running
configuration (file + API objects, followed as other processes change it) and schedule state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from loguru import logger

from alert_handler.channels.env import env_receivers
from alert_handler.db import create_engine
from alert_handler.ingest.writer import utcnow
from alert_handler.metrics import Metrics, start_metrics_server
from alert_handler.processing.channel_pool import ChannelPool
from alert_handler.processing.pipeline import Pipeline, limits_from
from alert_handler.processing.run import TickState
from alert_handler.routing.live import InvalidConfig, LiveConfig, resolve_config_file
from alert_handler.settings import Settings, get_settings

_T = TypeVar("_T")


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop, as the API runs on (it comes with uvicorn[standard] wherever it builds)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


@dataclass(slots=True)
class WorkerContext:
    loop: asyncio.AbstractEventLoop
    pipeline: Pipeline
    live: LiveConfig
    settings: Settings
    tick_state: TickState = field(default_factory=TickState)
    checked_at: float = 0.0

    @classmethod
    def create(cls) -> WorkerContext:
        settings = get_settings()
        loop = _new_event_loop()
        engine = create_engine(settings.database_url, pool_size=4)
        live = LiveConfig(
            resolve_config_file(settings.config_file), clock=utcnow, env_receivers=env_receivers(settings)
        )
        loop.run_until_complete(live.reload(engine))
        metrics = Metrics()
        if settings.worker_metrics_port:
            start_metrics_server(metrics, settings.worker_metrics_port)
        pipeline = Pipeline(
            engine, lambda: live.current, ChannelPool(), utcnow, limits_from(settings),
            external_url=settings.public_url, stats=metrics,
        )  # fmt: skip
        return cls(loop, pipeline, live, settings)

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return self.loop.run_until_complete(coro)

    async def refresh_config(self) -> None:
        """Pick up objects changed through the API, at most every CONFIG_REFRESH_SECONDS."""
        if time.monotonic() - self.checked_at < self.settings.config_refresh_seconds:
            return
        self.checked_at = time.monotonic()
        try:
            await self.live.refresh_if_changed(self.pipeline.engine)
        except InvalidConfig as exc:
            logger.error("configuration change refused, keeping the running one: {}", exc)
