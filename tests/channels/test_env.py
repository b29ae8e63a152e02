"""Receivers made from the environment (SMTP_*): what they are and how they join the configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler.channels.email import EmailSettings
from alert_handler.channels.env import env_receivers
from alert_handler.channels.registry import build
from alert_handler.db import create_engine
from alert_handler.routing.config import InvalidConfig, load_config
from alert_handler.routing.live import LiveConfig
from alert_handler.settings import Settings
from alert_handler.store import config_objects

SMTP = {"smtp_server": "mail.example.org", "smtp_to": "a@example.org, b@example.org", "smtp_password": "pw-s3cret"}
FILE: dict[str, Any] = {"receivers": [{"name": "default-log", "type": "log"}], "route": {"receiver": "email"}}


def settings(**values: Any) -> Settings:
    return Settings.model_validate({"smtp_username": "alerts@example.org", **values})


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(sqlite_url)
    yield made
    await made.dispose()


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_smtp_settings_make_an_email_receiver() -> None:
    [receiver] = env_receivers(settings(**SMTP, smtp_port=465, smtp_security="tls"))
    assert (receiver["name"], receiver["type"]) == ("email", "email")
    channel = build("email", receiver["settings"])
    assert isinstance(channel.settings, EmailSettings)
    assert channel.settings.to == ["a@example.org", "b@example.org"]
    assert channel.settings.server == ("mail.example.org", 465) and channel.settings.security == "tls"
    assert channel.settings.sender == "alerts@example.org"  # SMTP_FROM unset: the user name
    assert channel.settings.password.get_secret_value() == "pw-s3cret"


def test_no_server_or_no_recipients_make_none() -> None:
    assert env_receivers(settings()) == []
    assert env_receivers(settings(smtp_server="mail.example.org")) == []


async def test_env_receivers_join_after_the_files_and_are_read_only(tmp_path: Path, engine: AsyncEngine) -> None:
    path = write(tmp_path / "c.yaml", FILE)
    with pytest.raises(InvalidConfig, match="unknown receiver 'email'"):
        await LiveConfig(path).reload(engine)
    live = LiveConfig(path, env_receivers=env_receivers(settings(**SMTP)))
    loaded = await live.reload(engine)
    assert [r.name for r in loaded.config.receivers] == ["default-log", "email"]
    assert "email" in loaded.provisioned["receivers"]
    assert load_config(path, env_receivers=env_receivers(settings(**SMTP))).receiver("email") is not None


async def test_the_file_or_an_api_object_of_that_name_wins(tmp_path: Path, engine: AsyncEngine) -> None:
    mine = {"name": "email", "type": "webhook", "settings": {"url": "http://hook.example/x"}}
    path = write(tmp_path / "c.yaml", {**FILE, "receivers": [*FILE["receivers"], mine]})
    loaded = await LiveConfig(path, env_receivers=env_receivers(settings(**SMTP))).reload(engine)
    assert [(r.name, r.type) for r in loaded.config.receivers] == [("default-log", "log"), ("email", "webhook")]

    path = write(tmp_path / "d.yaml", {**FILE, "route": {"receiver": "default-log"}})
    async with engine.begin() as conn:
        body = {"type": "webhook", "settings": {"url": "http://api.example/x"}}
        await config_objects.put(conn, "receivers", "email", body, "test", datetime.now(UTC))
    live = LiveConfig(path, env_receivers=env_receivers(settings(**SMTP)))
    loaded = await live.reload(engine)
    [email] = [r for r in loaded.config.receivers if r.name == "email"]
    assert email.type == "webhook" and "email" not in loaded.provisioned["receivers"]
