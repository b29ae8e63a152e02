"""`/api/v2/status` and `/api/v2/receivers`: what `amtool config show` reads, secrets masked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from alert_handler import __version__
from alert_handler.api.alertmanager.schemas import am_time
from alert_handler.security.keys import Scope
from tests.conftest import Api, make_api

CONFIG = """
receivers:
  - {name: ops, type: webhook, settings: {url: "https://hooks.example.com/T0?token=s3cret"}}
  - {name: quiet, type: log}
route:
  receiver: ops
  routes:
    - {receiver: quiet, matchers: ['team="quiet"']}
"""


@pytest.fixture
async def api(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    async for made in make_api(sqlite_url, config_file=str(config)):
        yield made


async def test_status_has_alertmanagers_shape_and_the_masked_config(api: Api) -> None:
    response = await api.client.get("/api/v2/status", headers=api.auth(await api.key(Scope.READ)))
    assert response.status_code == 200
    status = response.json()
    assert set(status) == {"cluster", "versionInfo", "config", "uptime"}
    assert status["cluster"] == {"status": "disabled", "peers": []}
    assert status["versionInfo"]["version"] == __version__
    assert set(status["versionInfo"]) == {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}
    assert status["uptime"].endswith("Z")
    original = status["config"]["original"]
    assert "s3cret" not in original
    shown = yaml.safe_load(original)
    assert [r["name"] for r in shown["receivers"]] == ["ops", "quiet"]
    assert shown["route"]["routes"][0]["receiver"] == "quiet"


async def test_receivers_are_listed_by_name(api: Api) -> None:
    response = await api.client.get("/api/v2/receivers", headers=api.auth())
    assert (response.status_code, response.json()) == (200, [{"name": "ops"}, {"name": "quiet"}])


async def test_status_and_receivers_need_a_key(api: Api) -> None:
    for path in ("/api/v2/status", "/api/v2/receivers"):
        assert (await api.client.get(path)).status_code == 401


def test_times_are_written_as_alertmanager_writes_them() -> None:
    assert am_time(datetime(2026, 3, 1, 12, 0, 5, 123456, tzinfo=UTC)) == "2026-03-01T12:00:05.123Z"
    assert am_time(datetime(2026, 3, 1, 20, 0, tzinfo=timezone(timedelta(hours=8)))) == "2026-03-01T12:00:00.000Z"
    assert am_time(None) == "0001-01-01T00:00:00.000Z", "Go's zero time"
