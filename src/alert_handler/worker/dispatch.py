"""WORKER_MODE=celery, API side: after a commit, send a task carrying the new alerts' ids.

Publishing happens on one background thread (Celery's client is blocking), ids that arrive
meanwhile go out together. If the broker is down the alerts are already stored with their work
owed: the failure is logged (once per outage) and the scheduler's tick picks the work up.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence

from loguru import logger

from alert_handler.settings import Settings

_CHUNK = 500
_LINGER = 0.002


class CeleryDispatch:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pending: list[int] = []
        self._commits = 0  # commits whose ids wait in _pending
        self._together = False
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._broker_down = False

    def wake(self, alert_ids: Sequence[int] = ()) -> None:
        self._pending.extend(alert_ids)
        self._commits += 1
        self._ready.set()

    async def start(self) -> None:
        from alert_handler.worker.app import PROCESS_TASK, make_celery  # imports Celery only in this mode

        app = make_celery(self._settings)
        self._send = functools.partial(app.send_task, PROCESS_TASK)
        self._task = asyncio.create_task(self._publish_loop(), name="celery-dispatch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _publish_loop(self) -> None:
        while True:
            await self._ready.wait()
            if self._together:
                # Commits come close together: the ids of those just behind go in the same task.
                # One at a time, a commit's ids go at once (the wait would only delay them).
                await asyncio.sleep(_LINGER)
            self._ready.clear()
            ids, self._pending = self._pending, []
            self._together, self._commits = self._commits > 1, 0
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                try:
                    await asyncio.to_thread(
                        self._send, args=[chunk], argsrepr=_shown(chunk), kwargsrepr="{}", retry=False, expires=300
                    )
                except Exception as exc:
                    if not self._broker_down:
                        logger.warning(
                            "broker unreachable ({}); the scheduler will process the alerts", type(exc).__name__
                        )
                    self._broker_down = True
                    break
                else:
                    if self._broker_down:
                        logger.info("broker reachable again")
                    self._broker_down = False


def _shown(ids: list[int]) -> str:
    """The task's arguments as monitoring (Flower, logs) shows them: Celery's own safe repr cost
    a sixth of a publish's CPU."""
    if len(ids) <= 8:
        return repr([ids])
    return f"[[{ids[0]}, …, {ids[-1]}]] ({len(ids)} alerts)"
