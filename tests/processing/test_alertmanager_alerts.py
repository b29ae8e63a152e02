"""Alerts sent as Prometheus sends them (Alertmanager's postable alerts) through the whole
pipeline: a repeat extends the alert and notifies nobody again; when the sender stops, the alert
resolves once its endsAt passes, and the receiver hears of it once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alert_handler import db
from alert_handler.domain.alert import IngestResult
from alert_handler.ingest.sources.alertmanager_api import PostableAlert
from alert_handler.store.alert_writes import store_batch
from tests.processing.conftest import Harness

LABELS = {"alertname": "DiskFull", "instance": "db-1", "severity": "critical"}


async def post(harness: Harness, **fields: Any) -> list[IngestResult]:
    alert = PostableAlert.model_validate({"labels": LABELS, "annotations": {"summary": "disk full"}, **fields})
    now = harness.clock()
    incoming = alert.normalize(tenant="default", actor="prometheus", now=now, resolve_timeout=timedelta(minutes=5))
    async with db.write(harness.engine) as conn:
        return await store_batch(conn, [incoming], now)


def iso(harness: Harness, **delta: float) -> str:
    return (harness.clock() + timedelta(**delta)).isoformat()


async def test_repeats_extend_the_alert_without_a_new_notification(harness: Harness) -> None:
    [first] = await post(harness, startsAt=iso(harness), endsAt=iso(harness, minutes=1))
    await harness.run()
    assert harness.recorder.alert_titles("pager") == [(["disk full"], [])]
    for _ in range(5):  # Prometheus re-sends every resend_delay, each time with a later endsAt
        harness.clock.advance(seconds=50)
        [repeat] = await post(harness, startsAt=(harness.clock() - timedelta(seconds=50)).isoformat(),
                              endsAt=iso(harness, minutes=1))  # fmt: skip
        assert repeat.id == first.id and repeat.outcome.value == "duplicate"
        await harness.run()
        await harness.tick()
    assert len(harness.recorder.messages("pager")) == 1
    stored = await harness.alert(first.id)
    assert stored["status"] == "firing" and stored["ends_at"] == harness.clock() + timedelta(minutes=1)
    assert stored["duplicate_count"] == 5


async def test_without_ends_at_the_alert_resolves_after_the_resolve_timeout(harness: Harness) -> None:
    [result] = await post(harness)
    await harness.run()
    harness.clock.advance(minutes=4, seconds=59)
    await harness.tick()
    assert (await harness.alert(result.id))["status"] == "firing"
    harness.clock.advance(seconds=2)
    await harness.tick()
    await harness.tick()
    stored = await harness.alert(result.id)
    assert stored["status"] == "resolved" and stored["resolved_by"] == "system:scheduler"
    assert harness.recorder.alert_titles("pager") == [(["disk full"], []), ([], ["disk full"])]


async def test_an_ends_at_in_the_past_resolves_at_once(harness: Harness) -> None:
    [result] = await post(harness, endsAt=iso(harness, minutes=5))
    await harness.run()
    harness.clock.advance(minutes=1)
    [resolved] = await post(harness, endsAt=iso(harness, seconds=-10))
    assert resolved.id == result.id and resolved.outcome.value == "resolved"
    assert (await harness.alert(result.id))["ends_at"] == harness.clock() - timedelta(seconds=10)
    await harness.run()
    harness.clock.advance(minutes=4)  # the group's next flush: group_interval (5m) after it was told
    await harness.tick()
    assert harness.recorder.alert_titles("pager") == [(["disk full"], []), ([], ["disk full"])]
