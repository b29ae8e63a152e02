"""Group commit: concurrent submissions share transactions, and each caller gets its own results."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from alert_handler.domain.alert import IncomingAlert, Outcome
from alert_handler.domain.severity import Severity
from alert_handler.ingest.writer import IngestWriter
from alert_handler.metrics import Metrics


def alert(name: str) -> IncomingAlert:
    return IncomingAlert(
        tenant="default", fingerprint=name, source="s", severity=Severity.INFO, title=name, actor="api-key:t"
    )


def commits(metrics: Metrics) -> float:
    return metrics.registry.get_sample_value("alert_handler_ingest_commit_alerts_count") or 0.0


async def test_requests_arriving_within_the_linger_share_one_commit(engine: AsyncEngine) -> None:
    metrics = Metrics()
    writer = IngestWriter(engine, metrics, linger=0.3)
    await writer.start()
    try:
        # Requests that arrive together: the writer lingers from then on.
        await asyncio.gather(*(writer.submit([alert(f"burst{i}")]) for i in range(3)))
        assert commits(metrics) == 1

        async def send(i: int) -> list[Outcome]:
            await asyncio.sleep(0.01 * i)  # spread over 50 ms, well inside the linger
            return [r.outcome for r in await writer.submit([alert(f"a{i}"), alert("shared")])]

        answers = await asyncio.gather(*(send(i) for i in range(6)))
    finally:
        await writer.stop()
    assert commits(metrics) == 2
    assert [a[0] for a in answers] == [Outcome.CREATED] * 6
    assert sorted(a[1] for a in answers) == [Outcome.CREATED] + [Outcome.DUPLICATE] * 5


async def test_requests_arriving_one_at_a_time_do_not_wait_for_the_linger(engine: AsyncEngine) -> None:
    metrics = Metrics()
    writer = IngestWriter(engine, metrics, linger=5.0)
    await writer.start()
    try:
        started = asyncio.get_running_loop().time()
        for i in range(3):
            await writer.submit([alert(f"lone{i}")])
        assert asyncio.get_running_loop().time() - started < 5.0
    finally:
        await writer.stop()
    assert commits(metrics) == 3


async def test_without_linger_a_lone_request_is_committed_at_once(engine: AsyncEngine) -> None:
    metrics = Metrics()
    writer = IngestWriter(engine, metrics, linger=0.0)
    await writer.start()
    try:
        for i in range(3):
            await writer.submit([alert(f"b{i}")])
    finally:
        await writer.stop()
    assert commits(metrics) == 3


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # pg_terminate_backend
async def test_a_pooled_connection_the_server_closed_is_dropped_and_the_commit_retried(
    backend: str, engine: AsyncEngine
) -> None:
    metrics = Metrics()
    writer = IngestWriter(engine, metrics)
    await writer.start()
    try:
        await writer.submit([alert("before")])
        killer = create_async_engine(engine.url, poolclass=NullPool)  # ends every other connection
        async with killer.connect() as conn:
            ended = await conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity, pg_terminate_backend(pid) "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert ended.scalar_one() >= 1
        await killer.dispose()
        [result] = await writer.submit([alert("after")])
    finally:
        await writer.stop()
    assert result.outcome is Outcome.CREATED
    assert metrics.registry.get_sample_value("alert_handler_database_errors_total", {"operation": "ingest"}) == 1
