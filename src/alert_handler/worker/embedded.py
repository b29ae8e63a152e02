"""The embedded worker: processing and the schedule inside the API process (no broker needed).

A commit wakes the processing loop at once (that is the path a notification with group_wait 0
takes); the tick loop runs the time-driven work every SCHEDULER_TICK_SECONDS and re-does
whatever a crash left owed. A failing database is logged and retried, never fatal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from loguru import logger

from alert_handler.processing.pipeline import Pipeline
from alert_handler.processing.run import TickState, run_once, tick

_ERROR_PAUSE = 1.0


class EmbeddedWorker:
    def __init__(self, pipeline: Pipeline, *, tick_seconds: float = 1.0) -> None:
        self._pipeline = pipeline
        self._tick_seconds = tick_seconds
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._state = TickState()

    def wake(self, _alert_ids: Sequence[int] = ()) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._wake.set()  # work left owed by an earlier run
        self._tasks = [
            asyncio.create_task(self._process_loop(), name="embedded-processing"),
            asyncio.create_task(self._tick_loop(), name="embedded-scheduler"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _process_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while (await run_once(self._pipeline)).processed:
                    pass
            except Exception as exc:
                logger.opt(exception=exc).error("processing failed; retrying in {}s", _ERROR_PAUSE)
                await asyncio.sleep(_ERROR_PAUSE)
                self._wake.set()

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            try:
                await tick(self._pipeline, self._state)
            except Exception as exc:
                logger.opt(exception=exc).error("scheduled work failed; retrying at the next tick")
