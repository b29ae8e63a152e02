"""What HTTP channels share: status classification, Retry-After, cutting text to a limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from alert_handler.channels import http
from alert_handler.channels.webhook import WebhookChannel, WebhookSettings
from tests.channels.factory import message
from tests.http_sink import http_sink

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert http.retry_after("120") == 120.0
    assert http.retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90.0
    assert http.retry_after("-5") == 0.0
    assert http.retry_after("999999") == http.MAX_RETRY_AFTER
    assert http.retry_after("soon") is None and http.retry_after(None) is None


@pytest.mark.parametrize(
    ("status", "retry"),
    [(400, False), (401, False), (403, False), (404, False), (408, True), (429, True), (500, True), (503, True)],
)
def test_which_statuses_a_retry_can_fix(status: int, retry: bool) -> None:
    found = http.refused(httpx.Response(status, text="no"))
    assert (found.ok, found.retry) == (False, retry)
    assert found.error.startswith(f"HTTP {status}")


def test_retry_after_is_read_on_429_only_where_it_means_wait() -> None:
    assert http.refused(httpx.Response(429, headers={"Retry-After": "30"})).retry_after == 30.0
    assert http.refused(httpx.Response(503, headers={"Retry-After": "7"})).retry_after == 7.0
    assert http.refused(httpx.Response(400, headers={"Retry-After": "7"})).retry_after is None


def test_cutting_bytes_never_splits_a_character() -> None:
    text = "磁盘已满🔥" * 100
    for limit in range(1, 60):
        cut = http.cut_bytes(text, limit)
        assert len(cut.encode()) <= limit
        cut.encode().decode("utf-8")  # raises if a sequence was split
    assert http.cut_bytes("short", 100) == "short"
    assert http.cut_bytes("x" * 10, 5) == "xx…"


def test_cutting_characters() -> None:
    assert http.cut_chars("abcdef", 4) == "abc…"
    assert http.cut_chars("abc", 4) == "abc"


async def test_the_webhook_honours_retry_after() -> None:
    with http_sink() as sink:
        sink.answers.append((429, '{"error": "slow down"}'))
        sink.answer_headers.append({"Retry-After": "42"})
        channel = WebhookChannel(WebhookSettings.model_validate({"url": f"{sink.url}/hook"}))
        try:
            result = await channel.send(message())
        finally:
            await channel.close()
    assert (result.ok, result.retry, result.retry_after) == (False, True, 42.0)


def test_a_refused_setting_is_not_repeated_in_the_error() -> None:
    from pydantic import ValidationError

    try:
        WebhookSettings.model_validate({"url": "ftp://hooks.example/t0ken-s3cret"})
    except ValidationError as exc:
        assert "t0ken-s3cret" not in str(exc)
    else:
        raise AssertionError("an ftp URL was accepted")
