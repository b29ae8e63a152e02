"""The webhook channel against a real HTTP server: payload, headers, and which failures retry."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from alert_handler.channels.base import Message, MessageAlert
from alert_handler.channels.registry import build, check_settings
from alert_handler.channels.webhook import WebhookChannel, WebhookSettings
from tests.conftest import free_port
from tests.http_sink import Sink, http_sink

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _alert(i: int, status: str = "firing") -> MessageAlert:
    return MessageAlert(
        id=i, fingerprint=f"fp{i}", status=status, severity="critical", source="prometheus", title=f"Disk {i}",
        description="", labels={"alertname": "DiskFull", "host": f"h{i}"}, annotations={"summary": "full"},
        tags=[], starts_at=T0, ends_at=T0 if status == "resolved" else None, generator_url="http://prom/graph",
    )  # fmt: skip


MESSAGE = Message(
    key="group:7:first", receiver="ops", kind="group", status="firing", group_key="7",
    group_labels={"alertname": "DiskFull"}, firing=[_alert(1), _alert(2)], resolved=[_alert(3, "resolved")],
    external_url="http://alerts.example",
)  # fmt: skip


@pytest.fixture
def sink() -> Iterator[Sink]:
    with http_sink() as made:
        yield made


async def test_posts_alertmanagers_webhook_payload(sink: Sink) -> None:
    channel = WebhookChannel(WebhookSettings(url=f"{sink.url}/hook", headers={"X-Token": "s3cret"}))
    assert (await channel.send(MESSAGE)).ok
    [request] = sink.received
    assert request.path == "/hook"
    assert request.headers["X-Alert-Handler-Notification"] == "group:7:first"
    assert request.headers["X-Token"] == "s3cret"
    body = request.json()
    assert (body["version"], body["status"], body["receiver"], body["groupKey"]) == ("4", "firing", "ops", "7")
    assert body["groupLabels"] == {"alertname": "DiskFull"}
    assert body["commonLabels"] == {"alertname": "DiskFull"}
    assert body["externalURL"] == "http://alerts.example"
    assert [a["status"] for a in body["alerts"]] == ["firing", "firing", "resolved"]
    first, resolved = body["alerts"][0], body["alerts"][2]
    assert first["endsAt"] == "0001-01-01T00:00:00Z" and first["startsAt"] == "2026-03-02T10:00:00Z"
    assert resolved["endsAt"] == "2026-03-02T10:00:00Z"
    assert first["fingerprint"] == "fp1" and first["generatorURL"] == "http://prom/graph"
    await channel.close()


async def test_max_alerts_truncates_and_says_how_many(sink: Sink) -> None:
    channel = WebhookChannel(WebhookSettings(url=sink.url, max_alerts=1))
    await channel.send(MESSAGE)
    body = sink.received[0].json()
    assert (len(body["alerts"]), body["truncatedAlerts"]) == (1, 2)
    await channel.close()


@pytest.mark.parametrize(
    ("status", "retry"), [(500, True), (502, True), (503, True), (429, True), (400, False), (404, False)]
)
async def test_failures_say_whether_a_retry_can_help(sink: Sink, status: int, retry: bool) -> None:
    sink.answers.append((status, '{"error": "nope"}'))
    channel = WebhookChannel(WebhookSettings(url=sink.url))
    delivery = await channel.send(MESSAGE)
    assert (delivery.ok, delivery.retry) == (False, retry)
    assert delivery.error.startswith(f"HTTP {status}")
    await channel.close()


async def test_an_unreachable_receiver_is_retried_and_the_url_token_stays_secret() -> None:
    channel = WebhookChannel(WebhookSettings(url=f"http://127.0.0.1:{free_port()}/hook?token=s3cret"))
    delivery = await channel.send(MESSAGE)
    assert (delivery.ok, delivery.retry) == (False, True)
    assert "s3cret" not in delivery.error
    assert "s3cret" not in repr(channel.settings)
    await channel.close()


async def test_a_slow_receiver_times_out_and_is_retried(sink: Sink) -> None:
    sink.delay = 1.0
    channel = WebhookChannel(WebhookSettings(url=sink.url, timeout_seconds=0.2))
    delivery = await channel.send(MESSAGE)
    assert (delivery.ok, delivery.retry, delivery.error) == (False, True, "timed out")
    await channel.close()
    await asyncio.sleep(1.0)  # let the server finish the slow answer before it shuts down


def test_settings_are_checked_when_the_config_loads() -> None:
    assert check_settings("webhook", {"url": "http://x/hook"}) == []
    problems = check_settings("webhook", {"url": "http://x", "timeout_seconds": -1, "bogus": 1})
    assert {p[0] for p in problems} == {("timeout_seconds",), ("bogus",)}
    assert check_settings("carrier-pigeon", {}) == [((), "unknown channel type 'carrier-pigeon'")]
    assert build("log", {}).settings.send_resolved is True


def test_the_url_must_be_http() -> None:
    [(where, message)] = check_settings("webhook", {"url": "ftp://x/hook"})
    assert where == ("url",) and "http://" in message
