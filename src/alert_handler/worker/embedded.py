"""The embedded worker: processing and the schedule inside the API process (no broker needed).

A commit wakes the processing loop at once (that is the path a notification with group_wait 0
takes); the tick loop runs the time-driven work every SCHEDULER_TICK_SECONDS and re-does
whatever a crash left owed. A failing database is logged and retried, never fatal.

Processing shares the process (and, in the small set-ups this mode is for, the core) with
ingest. Under an alert storm accepting alerts comes first: a sender gives up after a timeout
(Prometheus: 10 s) and the alerts it sent are then lost to us, while stored alerts only wait.
So while requests wait for a commit, processing waits too, never longer than `_MAX_YIELD`
at a time: it keeps going, more slowly, however long the storm.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from loguru import logger

from alert_handler.processing.claimed import Claimed
from alert_handler.processing.deliver import send
from alert_handler.processing.pipeline import Pipeline
from alert_handler.processing.run import TickState, decide, tick

_ERROR_PAUSE = 1.0
_CONCURRENT_SENDS = 8
_MAX_YIELD = 0.2
_YIELD_STEP = 0.005


class EmbeddedWorker:
    def __init__(
        self, pipeline: Pipeline, *, tick_seconds: float = 1.0, ingest_backlog: Callable[[], bool] | None = None
    ) -> None:
        self._pipeline = pipeline
        self._tick_seconds = tick_seconds
        self._ingest_backlog = ingest_backlog or (lambda: False)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._state = TickState()
        # Sends run beside processing (a slow receiver must not hold up the next alerts), a few at a time.
        self._sending = asyncio.Semaphore(_CONCURRENT_SENDS)
        self._senders: set[asyncio.Task[None]] = set()

    def wake(self, _alert_ids: Sequence[int] = ()) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._wake.set()  # work left owed by an earlier run
        self._tasks = [
            asyncio.create_task(self._process_loop(), name="embedded-processing"),
            asyncio.create_task(self._tick_loop(), name="embedded-scheduler"),
        ]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._senders]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._senders, return_exceptions=True)
        self._tasks = []

    async def _process_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while True:
                    await self._after_ingest()
                    report, claimed = await decide(self._pipeline)
                    if claimed.notifications:
                        await self._sending.acquire()
                        task = asyncio.create_task(self._send(claimed))
                        self._senders.add(task)
                        task.add_done_callback(self._senders.discard)
                    if report.processed < self._pipeline.limits.batch:
                        break  # all that was owed; what commits meanwhile wakes the loop again
            except Exception as exc:
                logger.opt(exception=exc).error("processing failed; retrying in {}s", _ERROR_PAUSE)
                await asyncio.sleep(_ERROR_PAUSE)
                self._wake.set()

    async def _after_ingest(self) -> None:
        waited = 0.0
        while self._ingest_backlog() and waited < _MAX_YIELD:
            await asyncio.sleep(_YIELD_STEP)
            waited += _YIELD_STEP

    async def _send(self, claimed: Claimed) -> None:
        try:
            await send(self._pipeline, claimed)
        except Exception as exc:  # the lease runs out and the tick sends it again
            logger.opt(exception=exc).error("sending notifications failed; they will be retried")
        finally:
            self._sending.release()

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            try:
                await tick(self._pipeline, self._state)
            except Exception as exc:
                logger.opt(exception=exc).error("scheduled work failed; retrying at the next tick")
