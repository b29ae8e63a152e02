"""The embedded worker lets waiting ingest requests go first, but never stops processing."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest
from sqlalchemy import func, select

from alert_handler import db
from alert_handler.processing import run
from alert_handler.store.tables import alerts_table
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


async def _owed(harness: Harness) -> int:
    async with db.read(harness.pipeline.engine) as conn:
        query = select(func.count()).where(alerts_table.c.pending_since.is_not(None))
        return int((await conn.execute(query)).scalar_one())


async def _decide_calls_to_process(harness: Harness, monkeypatch: pytest.MonkeyPatch, alerts: int) -> int:
    calls = 0
    real_decide = run.decide

    async def counting_decide(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return await real_decide(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(embedded, "decide", counting_decide)
    for i in range(alerts):
        await harness.ingest(alert(f"Disk{i}"))
    worker = EmbeddedWorker(harness.pipeline, tick_seconds=3600)
    await worker.start()
    try:
        started = time.monotonic()
        while await _owed(harness):
            await asyncio.sleep(0.005)
            assert time.monotonic() - started < 5, "never processed"
        await asyncio.sleep(0.05)  # a further run, if the worker were to make one, has started by now
    finally:
        await worker.stop()
    return calls


async def test_a_run_that_took_all_that_was_owed_is_the_last(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    assert await _decide_calls_to_process(harness, monkeypatch, alerts=1) == 1


async def test_a_run_that_filled_its_batch_is_followed_by_another(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.pipeline.limits = dataclasses.replace(harness.pipeline.limits, batch=2)
    assert await _decide_calls_to_process(harness, monkeypatch, alerts=5) == 3
