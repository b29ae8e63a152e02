"""The apprise channel against a real HTTP server through apprise's own `json://` service: the
contract, what the service receives, retries that skip the URLs that took it, HTTP refusals,
escaping, the body limit, no URL part in any log record, preview and settings."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from alert_handler.channels.apprise import AppriseChannel, AppriseSettings, secret_parts
from alert_handler.channels.base import Channel, Delivery
from alert_handler.channels.registry import check_settings
from alert_handler.templates import Templates
from tests.channels.contract import ChannelCase, ChannelContract
from tests.channels.factory import HOSTILE_TITLE, alert, message
from tests.conftest import free_port
from tests.http_sink import Sink, http_sink

PASSWORD, PATH_TOKEN, HEADER_TOKEN = "pa55w0rd-s3cret", "p4th-t0ken-s3cret", "h34der-t0ken-s3cret"


def url(base: str) -> str:
    host = base.removeprefix("http://")
    return f"json://alerts:{PASSWORD}@{host}/hook/{PATH_TOKEN}?+X-Token={HEADER_TOKEN}"


def channel(*urls: str, templates: Templates | None = None, **extra: Any) -> AppriseChannel:
    return AppriseChannel(AppriseSettings.model_validate({"urls": list(urls), **extra}), templates=templates)


@pytest.fixture
def sink() -> Iterator[Sink]:
    with http_sink() as made:
        yield made


class TestAppriseContract(ChannelContract):
    @pytest.fixture
    def case(self, sink: Sink) -> ChannelCase:
        def slow() -> Channel:
            sink.delay = 1.0
            return channel(url(sink.url), timeout_seconds=0.2)

        def text(body: bytes) -> str:
            sent = json.loads(body)
            return f"{sent['title']}\n{sent['message']}"

        return ChannelCase(
            secrets=(PASSWORD, PATH_TOKEN, HEADER_TOKEN),
            max_bytes=5000,
            channel=lambda: channel(url(sink.url)),
            unreachable=lambda: channel(url(f"http://127.0.0.1:{free_port()}")),
            slow=slow,
            fail_next=lambda temporary: sink.answers.append((500 if temporary else 400, '{"error": "no"}')),
            delivered=lambda: [r.body for r in sink.received],
            text=text,
            settle=1.0,
        )


async def test_the_service_gets_title_body_and_type(sink: Sink) -> None:
    notify = channel(url(sink.url))
    assert await notify.send(message()) == Delivery.sent()
    [request] = sink.received
    assert request.path == f"/hook/{PATH_TOKEN}" and request.headers["X-Token"] == HEADER_TOKEN
    sent = request.json()
    assert (sent["title"], sent["type"]) == ("[FIRING:2] Disk 1 full (+2 more)", "failure")
    assert sent["message"].startswith("2 firing, 1 resolved")
    assert (
        "[RESOLVED] CRITICAL: Disk 100 full" in sent["message"]
        and "http://alerts.example/api/v1/alerts/1" in sent["message"]
    )


@pytest.mark.parametrize(("severity", "kind"), [("warning", "warning"), ("info", "info"), ("high", "failure")])
async def test_the_type_follows_severity_and_resolution(sink: Sink, severity: str, kind: str) -> None:
    notify = channel(url(sink.url))
    firing = dataclasses.replace(message(0, 0), firing=[dataclasses.replace(alert(1), severity=severity)])
    assert (await notify.send(firing)).ok
    assert (await notify.send(dataclasses.replace(message(0, 1), key="resolved"))).ok
    assert [r.json()["type"] for r in sink.received] == [kind, "success"]


async def test_a_retry_goes_only_to_the_urls_that_failed_for_a_temporary_reason(sink: Sink) -> None:
    with http_sink() as down, http_sink() as refusing:
        down.answers.append((503, "{}"))
        refusing.answers.extend([(404, "{}"), (404, "{}")])
        notify = channel(url(sink.url), url(down.url), url(refusing.url))
        first = await notify.send(message())
        assert (first.ok, first.retry) == (False, True)
        assert "2 of 3 URLs failed" in first.error and "#2 json: failed (HTTP 503)" in first.error
        assert "#3 json: refused (HTTP 404)" in first.error
        second = await notify.send(message())
        assert (second.ok, second.retry) == (False, False) and "#2" not in second.error
        assert (len(sink.received), len(down.received), len(refusing.answers)) == (1, 1, 1)
        for secret in (PASSWORD, PATH_TOKEN, HEADER_TOKEN):
            assert secret not in first.error + second.error


@pytest.mark.parametrize(("status", "retry"), [(400, False), (401, False), (429, True), (500, True), (502, True)])
async def test_http_refusals_say_whether_a_retry_can_help(sink: Sink, status: int, retry: bool) -> None:
    sink.answers.append((status, "{}"))
    delivery = await channel(url(sink.url)).send(message())
    assert (delivery.ok, delivery.retry) == (False, retry) and f"HTTP {status}" in delivery.error


async def test_alert_text_stays_text(sink: Sink) -> None:
    notify = channel(url(sink.url))
    assert (await notify.send(message(1, 0, title=HOSTILE_TITLE, description="{{ 7*7 }}"))).ok
    sent = sink.received[0].json()
    assert sent["title"] == f"[FIRING:1] {HOSTILE_TITLE}" and HOSTILE_TITLE in sent["message"]
    assert "{{ 7*7 }}" in sent["message"] and "49" not in sent["message"] and "<class" not in sent["message"]


async def test_a_long_body_drops_alerts_then_is_cut(sink: Sink) -> None:
    notify = channel(url(sink.url), max_chars=3000)
    assert (await notify.send(message(200, 0, title="磁盘已满", description="详细 " * 300))).ok
    body = sink.received[0].json()["message"]
    assert len(body) <= 3000 and "more alerts not shown." in body and 0 < body.count("[FIRING]") < 200


@pytest.fixture
def log_records() -> Iterator[list[logging.LogRecord]]:
    """Every record the apprise and urllib3 loggers pass on, at DEBUG, as our root handler gets it."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep, root = Keep(level=logging.DEBUG), logging.getLogger()
    names = ("apprise", "urllib3")
    levels = [logging.getLogger(n).level for n in names]
    root.addHandler(keep)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(keep)
        for name, level in zip(names, levels, strict=True):
            logging.getLogger(name).setLevel(level)


async def test_no_url_part_reaches_the_log(sink: Sink, log_records: list[logging.LogRecord]) -> None:
    sink.answers.append((500, "{}"))
    notify = channel(url(sink.url))
    assert not (await notify.send(message())).ok
    assert (await notify.send(message())).ok
    assert not (await channel(url(f"http://127.0.0.1:{free_port()}")).send(message())).ok
    with pytest.raises(ValidationError):
        AppriseSettings.model_validate({"urls": [f"nosuch://{PATH_TOKEN}/x"]})
    lines = [r.getMessage() for r in log_records]
    assert any(line.startswith("Unparseable URL") for line in lines)
    assert any('"POST *** HTTP/1.1" 500' in line for line in lines)  # urllib3's request line, redacted
    assert any("Failed to send JSON POST notification" in line for line in lines)
    assert len(lines) > 5
    for secret in (PASSWORD, PATH_TOKEN, HEADER_TOKEN):
        assert not [line for line in lines if secret in line]
    await notify.close()


def test_secret_parts_of_a_url() -> None:
    parts = secret_parts("tgram://123456:AAbot-token/-100200?to=chat%2Did")
    assert {"123456:AAbot-token", "AAbot-token", "-100200", "chat-id", "chat%2Did"} <= parts
    assert "example.org" not in secret_parts("ntfy://user:pw-s3cret@example.org/topic")


def test_a_markdown_body_template_is_sent_as_markdown(tmp_path: Path) -> None:
    (tmp_path / "en" / "apprise").mkdir(parents=True)
    (tmp_path / "en" / "apprise" / "title.txt").write_text("{{ alerts[0].title }}")
    (tmp_path / "en" / "apprise" / "body.md").write_text("**{{ counts.firing }}** firing: {{ alerts[0].title }}")
    notify = channel("json://127.0.0.1:9/x", templates=Templates(tmp_path))
    shown = notify.preview(message(1, 0, title="a*b"))
    assert shown == {"title": "a*b", "body": r"**1** firing: a\*b", "format": "markdown"}
    assert channel("json://127.0.0.1:9/x").preview(message())["format"] == "text"


def test_settings_name_the_url_but_never_show_it() -> None:
    problems = check_settings("apprise", {"urls": ["json://127.0.0.1/x", f"nosuch://{PATH_TOKEN}@host/x"]})
    assert problems == [(("urls",), "Value error, urls[1] is not a URL apprise supports (scheme 'nosuch')")]
    assert check_settings("apprise", {"urls": []})[0][0] == ("urls",)
    with pytest.raises(ValidationError) as caught:
        AppriseSettings.model_validate({"urls": [f"nosuch://{PATH_TOKEN}/x"]})
    assert PATH_TOKEN not in str(caught.value)
    settings = AppriseSettings.model_validate({"urls": [f"json://{PATH_TOKEN}@127.0.0.1/x"]})
    assert PATH_TOKEN not in repr(settings)
