"""A Celery worker process runs its services on uvloop, as the API does."""

from __future__ import annotations

import uvloop

from alert_handler.worker.context import _new_event_loop


def test_a_worker_process_runs_on_uvloop() -> None:
    loop = _new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert loop.run_until_complete(_answer()) == 42
    finally:
        loop.close()


async def _answer() -> int:
    return 42
