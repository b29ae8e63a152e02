"""API test helpers: a controllable clock and an app built with it, on every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from alert_handler.api.app import create_app
from alert_handler.db import create_engine
from alert_handler.security.keys import Scope
from alert_handler.settings import Settings
from alert_handler.store import api_keys
from tests.conftest import Api

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
ALERTS = "/api/v1/alerts"


class Clock:
    """Stands in for `utcnow`: returns `now` until told to move."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


async def make_clocked_api(database_url: str, clock: Clock, **overrides: Any) -> AsyncIterator[Api]:
    overrides.setdefault("worker_mode", "off")
    settings = Settings(database_url=database_url, _env_file=None, **overrides)
    app = create_app(settings, clock=clock)
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        _, admin = await api_keys.create(conn, name="admin", scopes=[Scope.ADMIN], tenant="default", now=clock())
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Api(client, admin, engine)
    finally:
        await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def clocked_api(database_url: str, clock: Clock) -> AsyncIterator[Api]:
    """The app on the backend under test, reading time from `clock`."""
    async for made in make_clocked_api(database_url, clock):
        yield made


async def post_alerts(api: Api, body: Any, key: str | None = None) -> httpx.Response:
    return await api.client.post(ALERTS, json=body, headers=api.auth(key))


async def ingest(api: Api, body: Any) -> Any:
    """POST alerts that must be accepted; returns the JSON answer."""
    response = await post_alerts(api, body)
    assert response.status_code == 200, response.text
    return response.json()


async def get_alert(api: Api, alert_id: int) -> dict[str, Any]:
    response = await api.client.get(f"{ALERTS}/{alert_id}", headers=api.auth())
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def list_alerts(api: Api, **params: Any) -> dict[str, Any]:
    response = await api.client.get(ALERTS, params=params, headers=api.auth())
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
