"""Structured logs: JSON lines with LOG_FORMAT=json, and standard-library loggers routed through them."""

from __future__ import annotations

import json
import logging

import pytest
from loguru import logger

from alert_handler.logs import configure


def test_json_format_writes_one_json_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure("INFO", "json")
    try:
        logger.info("stored {} alerts", 3)
        logging.getLogger("uvicorn.error").warning("from the standard library")
        logger.debug("below the level")
    finally:
        configure("INFO", "console")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    records = [json.loads(line)["record"] for line in lines]
    assert [r["message"] for r in records] == ["stored 3 alerts", "from the standard library"]
    assert [r["level"]["name"] for r in records] == ["INFO", "WARNING"]


def test_access_log_is_off_unless_asked_for() -> None:
    configure("INFO", "console")
    assert logging.getLogger("uvicorn.access").disabled
    configure("INFO", "console", access_log=True)
    assert not logging.getLogger("uvicorn.access").disabled
    configure("INFO", "console")


def test_the_root_level_follows_the_setting() -> None:
    """uvicorn wraps every request in a tracing middleware when it sees TRACE enabled."""
    configure("WARNING", "console")
    assert logging.getLogger().getEffectiveLevel() == logging.WARNING
    configure("INFO", "console")


async def test_http_clients_never_log_a_channels_url(capsys: pytest.CaptureFixture[str]) -> None:
    """httpx logs each request's URL at INFO; a webhook's URL is often its token."""
    from alert_handler.channels.webhook import WebhookChannel, WebhookSettings
    from tests.channels.factory import message
    from tests.http_sink import http_sink

    for level in ("INFO", "DEBUG"):
        configure(level, "console")
        try:
            with http_sink() as sink:
                channel = WebhookChannel(WebhookSettings.model_validate({"url": f"{sink.url}/hook/t0ken-s3cret"}))
                assert (await channel.send(message())).ok
                await channel.close()
        finally:
            configure("INFO", "console")
        assert "t0ken-s3cret" not in capsys.readouterr().err
