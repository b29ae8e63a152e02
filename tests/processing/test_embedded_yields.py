"""The embedded worker lets waiting ingest requests go first, but never stops processing."""

from __future__ import annotations

import asyncio
import time

import pytest

from alert_handler.worker import embedded
from alert_handler.worker.embedded import EmbeddedWorker
from tests.processing.conftest import Harness, alert

MAX_YIELD = 1.0  # longer than the worker's own, so a slow machine cannot blur the two cases


@pytest.fixture(autouse=True)
def _long_yield(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "_MAX_YIELD", MAX_YIELD)


async def _processed_after(harness: Harness, backlog: bool) -> float:
    worker = EmbeddedWorker(harness.pipeline, tick_seconds=3600, ingest_backlog=lambda: backlog)
    await worker.start()
    try:
        started = time.monotonic()
        worker.wake()
        while not harness.recorder.messages("pager"):
            await asyncio.sleep(0.005)
            assert time.monotonic() - started < 5, "never processed"
        return time.monotonic() - started
    finally:
        await worker.stop()


async def test_processing_runs_at_once_when_no_request_waits(harness: Harness) -> None:
    await harness.ingest(alert("DiskFull"))
    assert await _processed_after(harness, backlog=False) < MAX_YIELD


async def test_processing_waits_for_waiting_requests_but_not_forever(harness: Harness) -> None:
    await harness.ingest(alert("DiskFull"))
    waited = await _processed_after(harness, backlog=True)
    assert MAX_YIELD <= waited < MAX_YIELD + 3
