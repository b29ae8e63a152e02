"""Group commit: concurrent submissions share transactions, and each caller gets its own results."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

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

        async def send(i: int) -> list[Outcome]:
            await asyncio.sleep(0.01 * i)  # spread over 50 ms, well inside the linger
            return [r.outcome for r in await writer.submit([alert(f"a{i}"), alert("shared")])]

        answers = await asyncio.gather(*(send(i) for i in range(6)))
    finally:
        await writer.stop()
    assert commits(metrics) == 1
    assert [a[0] for a in answers] == [Outcome.CREATED] * 6
    assert sorted(a[1] for a in answers) == [Outcome.CREATED] + [Outcome.DUPLICATE] * 5


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
