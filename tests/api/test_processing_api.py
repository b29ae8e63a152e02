"""The embedded worker end to end: POST an alert, a real webhook receiver gets the notification;
`/explain`, the timeline and `/notifications` show what happened."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from alert_handler.security.keys import Scope
from tests.api.conftest import ingest
from tests.conftest import Api, make_api
from tests.http_sink import Sink, http_sink

CONFIG = """
receivers:
  - name: ops
    type: webhook
    settings: {{url: "{url}/hook"}}
route:
  receiver: ops
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
rules:
  - name: db-team
    matchers: ['service="postgres"']
    effects: {{team: db, tags: [database]}}
"""


@pytest.fixture
def sink() -> Iterator[Sink]:
    with http_sink() as made:
        yield made


@pytest.fixture
async def live_api(database_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Api]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(url=sink.url))
    async for made in make_api(
        database_url, worker_mode="embedded", config_file=str(config), scheduler_tick_seconds=0.2
    ):
        yield made


async def _until(check: Any, timeout: float = 10.0) -> Any:
    for _ in range(int(timeout / 0.05)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_an_alert_reaches_the_webhook_and_explains_itself(live_api: Api, sink: Sink) -> None:
    answer = await ingest(
        live_api, {"title": "Replication lag", "source": "prometheus", "severity": "critical",
                   "labels": {"alertname": "ReplicationLag", "service": "postgres"}},
    )  # fmt: skip
    alert_id = answer["id"]
    [request] = await asyncio.to_thread(sink.wait_for, 1)
    body = request.json()
    assert body["status"] == "firing" and body["receiver"] == "ops"
    assert body["alerts"][0]["labels"] == {"alertname": "ReplicationLag", "service": "postgres"}

    async def explained() -> Any:
        response = await live_api.client.get(f"/api/v1/alerts/{alert_id}/explain", headers=live_api.auth())
        found = response.json()
        return found if found["notifications"] and found["notifications"][0]["status"] == "sent" else None

    explanation = await _until(explained)
    assert explanation["processed"] is True
    assert explanation["rules"]["matched"] == ["db-team"]
    assert explanation["rules"]["trace"][0]["name"] == "db-team"
    assert [(r["path"], r["receiver"], r["time_muted"]) for r in explanation["routes"]] == [("route", "ops", None)]
    assert explanation["groups"][0]["labels"] == {"alertname": "ReplicationLag"}
    detail = (await live_api.client.get(f"/api/v1/alerts/{alert_id}", headers=live_api.auth())).json()
    assert (detail["team"], detail["tags"]) == ("db", ["database"])
    assert [e["kind"] for e in detail["timeline"]] == ["received", "routed", "notified"]


async def test_resolving_through_the_api_sends_the_resolved_notification(live_api: Api, sink: Sink) -> None:
    answer = await ingest(live_api, {"title": "Disk full", "source": "s", "labels": {"alertname": "DiskFull"}})
    await asyncio.to_thread(sink.wait_for, 1)
    response = await live_api.client.post(f"/api/v1/alerts/{answer['id']}/resolve", headers=live_api.auth())
    assert response.status_code == 200, response.text
    received = await asyncio.to_thread(sink.wait_for, 2)
    assert received[1].json()["status"] == "resolved"


async def test_a_dead_notification_is_listed_and_can_be_sent_again(live_api: Api, sink: Sink) -> None:
    sink.answers.append((400, '{"error": "bad"}'))
    await ingest(live_api, {"title": "Disk full", "source": "s", "labels": {"alertname": "DiskFull"}})

    async def dead() -> Any:
        response = await live_api.client.get("/api/v1/notifications?status=dead", headers=live_api.auth())
        return response.json()["items"]

    [notification] = await _until(dead)
    assert notification["last_error"].startswith("HTTP 400")
    failed = await live_api.client.get("/api/v1/notifications?status=failed", headers=live_api.auth())
    assert [n["id"] for n in failed.json()["items"]] == [notification["id"]], "failed is another name for dead"
    timeline = (
        await live_api.client.get(f"/api/v1/alerts/{notification['firing'][0]}", headers=live_api.auth())
    ).json()
    [gave_up] = [e for e in timeline["timeline"] if e["kind"] == "notification_failed"]
    assert gave_up["detail"]["gave_up"] is True and gave_up["detail"]["error"].startswith("HTTP 400")
    response = await live_api.client.post(f"/api/v1/notifications/{notification['id']}/retry", headers=live_api.auth())
    assert response.status_code == 200, response.text
    await asyncio.to_thread(sink.wait_for, 1)
    again = await live_api.client.post(f"/api/v1/notifications/{notification['id']}/retry", headers=live_api.auth())
    assert again.status_code == 409


async def test_explain_needs_a_read_key_and_an_existing_alert(live_api: Api) -> None:
    ingest_only = await live_api.key(Scope.INGEST)
    response = await live_api.client.get("/api/v1/alerts/1/explain", headers=live_api.auth(ingest_only))
    assert response.status_code == 403
    response = await live_api.client.get("/api/v1/alerts/999/explain", headers=live_api.auth())
    assert response.status_code == 404


async def test_metrics_show_the_outbox_and_the_backlog(live_api: Api, sink: Sink) -> None:
    await ingest(live_api, {"title": "Disk full", "source": "s", "labels": {"alertname": "DiskFull"}})
    await asyncio.to_thread(sink.wait_for, 1)

    async def scraped() -> Any:
        text = (await live_api.client.get("/metrics")).text
        return text if 'alert_handler_notifications{status="sent"} 1.0' in text else None

    text = await _until(scraped)
    assert "alert_handler_processing_backlog_alerts 0.0" in text
    assert "alert_handler_processing_oldest_seconds 0.0" in text

    assert 'alert_handler_notification_sends_total{channel="webhook",outcome="sent",receiver="ops"} 1.0' in text
    assert 'alert_handler_notification_send_seconds_count{channel="webhook"} 1.0' in text


async def test_metrics_count_failed_sends_by_channel(live_api: Api, sink: Sink) -> None:
    sink.answers.append((503, "busy"))
    await ingest(live_api, {"title": "Disk full", "source": "s", "labels": {"alertname": "DiskFull"}})

    async def scraped() -> Any:
        text = (await live_api.client.get("/metrics")).text
        return text if 'outcome="failed",receiver="ops"} 1.0' in text else None

    assert 'alert_handler_notification_sends_total{channel="webhook",outcome="failed",receiver="ops"} 1.0' in (
        await _until(scraped)
    )
