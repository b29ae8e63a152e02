"""The webhook's method, templated JSON body, HMAC signature and size limit, against a real server."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest

from alert_handler.channels.registry import check_settings
from alert_handler.channels.webhook import WebhookChannel, WebhookSettings
from tests.channels.factory import HOSTILE_TITLE, message
from tests.http_sink import Sink, http_sink


@pytest.fixture
def sink() -> Iterator[Sink]:
    with http_sink() as made:
        yield made


def hook(sink: Sink, **settings: Any) -> WebhookChannel:
    return WebhookChannel(WebhookSettings.model_validate({"url": f"{sink.url}/hook", **settings}))


async def test_method_and_hmac_signature_of_the_raw_body(sink: Sink) -> None:
    channel = hook(sink, method="PUT", hmac_secret="k3y-s3cret")
    assert (await channel.send(message())).ok
    [request] = sink.received
    assert request.method == "PUT"
    expected = hmac.new(b"k3y-s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Alert-Handler-Signature"] == f"sha256={expected}"
    assert request.json()["version"] == "4"  # no template: Alertmanager's payload
    assert "k3y-s3cret" not in repr(channel.settings)
    await channel.close()


async def test_signature_header_name_is_a_setting(sink: Sink) -> None:
    channel = hook(sink, hmac_secret="k", signature_header="X-Hub-Signature-256")
    assert (await channel.send(message())).ok
    assert sink.received[0].headers["X-Hub-Signature-256"].startswith("sha256=")
    assert "X-Alert-Handler-Signature" not in sink.received[0].headers
    await channel.close()


async def test_a_body_template_prints_values_as_json_and_hostile_text_stays_text(sink: Sink) -> None:
    template = (
        '{"text": {{ alerts[0].title }}, "n": {{ counts.firing }}, "labels": {{ group_labels }}, '
        '"v": {{ payload.version }}}'
    )
    channel = hook(sink, body_template=template)
    assert (await channel.send(message(1, 0, title=HOSTILE_TITLE))).ok
    assert sink.received[0].json() == {"text": HOSTILE_TITLE, "n": 1, "labels": {"alertname": "DiskFull"}, "v": "4"}
    await channel.close()


async def test_the_shipped_webhook_template(sink: Sink) -> None:
    channel = hook(sink, template="webhook", language="zh")
    assert (await channel.send(message(2, 1))).ok
    body = sink.received[0].json()
    assert body["title"] == "[告警] Disk 1 full" and (body["firing"], body["resolved"]) == (2, 1)
    assert [a["status"] for a in body["alerts"]] == ["firing", "firing", "resolved"]
    await channel.close()


async def test_a_template_that_makes_no_json_fails_without_retry(sink: Sink) -> None:
    channel = hook(sink, body_template='{"text": "{{ alerts[0].title }}"}')  # quoted twice
    delivery = await channel.send(message())
    assert (delivery.ok, delivery.retry) == (False, False)
    assert "no valid JSON" in delivery.error and sink.received == []
    await channel.close()


async def test_the_sandbox_refuses_what_a_template_must_not_reach(sink: Sink) -> None:
    channel = hook(sink, body_template="{{ ''.__class__.__mro__[1].__subclasses__() }}")
    delivery = await channel.send(message())
    assert (delivery.ok, delivery.retry) == (False, False)
    assert delivery.error.startswith("template:") and sink.received == []
    await channel.close()


async def test_a_body_over_the_limit_drops_alerts_from_its_end(sink: Sink) -> None:
    big = message(40, 0, description="x" * 1000)
    channel = WebhookChannel(
        WebhookSettings.model_validate({"url": sink.url, "max_body_bytes": 4096}),
    )
    # The payload carries annotations, not descriptions: make them big.
    assert (await channel.send(big)).ok
    body = sink.received[0].body
    assert len(body) <= 4096
    parsed = json.loads(body)
    assert parsed["truncatedAlerts"] == 40 - len(parsed["alerts"]) and parsed["truncatedAlerts"] > 0
    templated = hook(sink, max_body_bytes=4096, template="webhook")
    assert (await templated.send(big)).ok
    assert len(sink.received[1].body) <= 4096
    await channel.close()
    await templated.close()


def test_templates_are_checked_when_the_config_loads() -> None:
    [(where, text)] = check_settings("webhook", {"url": "http://x", "body_template": "{% if %}"})
    assert where == ("body_template",) and "line 1" in text
    [(where, _)] = check_settings("webhook", {"url": "http://x", "template": "no-such-set", "language": "zh"})
    assert where == ("template",)
    [(where, _)] = check_settings("webhook", {"url": "http://x", "signature_header": "bad header"})
    assert where == ("signature_header",)
    assert check_settings("webhook", {"url": "http://x", "method": "PUT", "hmac_secret": "s"}) == []
