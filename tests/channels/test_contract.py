"""The delivery contract (`contract.py`) run for each channel against its real test server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from alert_handler.channels.base import Channel
from alert_handler.channels.email import EmailChannel, EmailSettings
from alert_handler.channels.webhook import WebhookChannel, WebhookSettings
from tests.channels.contract import ChannelCase, ChannelContract
from tests.conftest import free_port
from tests.http_sink import http_sink
from tests.smtp_server import PASSWORD, USER, Received, smtp_server

TOKEN, HEADER_SECRET, HMAC_SECRET = "url-t0ken-s3cret", "header-s3cret", "hmac-s3cret"


class TestWebhookContract(ChannelContract):
    @pytest.fixture
    def case(self) -> Iterator[ChannelCase]:
        with http_sink() as sink:

            def make(url: str, **extra: Any) -> Channel:
                settings = {"url": url, "headers": {"X-Token": HEADER_SECRET}, "hmac_secret": HMAC_SECRET, **extra}
                return WebhookChannel(WebhookSettings.model_validate(settings))

            def slow() -> Channel:
                sink.delay = 1.0
                return make(f"{sink.url}/hook?token={TOKEN}", timeout_seconds=0.2)

            yield ChannelCase(
                secrets=(TOKEN, HEADER_SECRET, HMAC_SECRET),
                max_bytes=1 << 20,
                channel=lambda: make(f"{sink.url}/hook?token={TOKEN}"),
                unreachable=lambda: make(f"http://127.0.0.1:{free_port()}/hook?token={TOKEN}"),
                slow=slow,
                fail_next=lambda temporary: sink.answers.append((503 if temporary else 400, '{"error": "no"}')),
                delivered=lambda: [r.body for r in sink.received],
                text=lambda body: json.dumps(json.loads(body), ensure_ascii=False),
                settle=1.0,
            )


class TestEmailContract(ChannelContract):
    @pytest.fixture
    def case(self) -> Iterator[ChannelCase]:
        with smtp_server(auth=True) as box:

            def make(smarthost: str, **extra: Any) -> Channel:
                settings = {
                    "to": ["oncall@example.org"], "from": "alerts@example.org", "smarthost": smarthost,
                    "security": "none", "username": USER, "password": PASSWORD, **extra,
                }  # fmt: skip
                return EmailChannel(EmailSettings.model_validate(settings))

            def slow() -> Channel:
                box.delay = 1.0
                return make(box.smarthost, timeout_seconds=0.2)

            def text(content: bytes) -> str:
                found = Received("", [], content)
                return found.part("plain") + found.part("html") + str(found.mail["Subject"])

            yield ChannelCase(
                secrets=(PASSWORD,),
                max_bytes=2 << 20,
                channel=lambda: make(box.smarthost),
                unreachable=lambda: make(f"127.0.0.1:{free_port()}"),
                slow=slow,
                fail_next=lambda temporary: box.answers.append(
                    "451 4.3.0 try again later" if temporary else "550 5.7.1 message refused"
                ),
                delivered=lambda: [r.content for r in box.received],
                text=text,
                settle=1.0,
            )
