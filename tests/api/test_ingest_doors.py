"""Both doors to POST /api/v1/alerts (the lean ASGI one and the router's) answer the same."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alert_handler.security.keys import Scope
from alert_handler.store.migrate import upgrade
from tests.conftest import Api, make_api

CASES: list[tuple[str, Any, dict[str, str] | None]] = [
    ("single", {"source": "s", "title": "t", "severity": "major"}, None),
    ("duplicate", {"source": "s", "title": "t", "severity": "major"}, None),
    ("list", [{"source": "s", "title": "u"}, {"source": "s", "title": "u", "status": "resolved"}], None),
    ("invalid", [{"source": "s", "title": "t"}, {"source": "s", "title": "t", "severity": "nope"}], None),
    ("not json", b"{", None),
    ("too large", {"source": "s", "title": "x" * 400, "description": "y" * 3000}, None),
    ("no key", {"source": "s", "title": "t"}, {}),
    ("bad key", {"source": "s", "title": "t"}, {"Authorization": "Bearer ah_nope"}),
]


async def _answers(tmp_path: Path, fast: bool) -> list[tuple[int, Any, str | None]]:
    url = f"sqlite:///{tmp_path / ('fast' if fast else 'router')}.db"
    await asyncio.to_thread(upgrade, url)
    out: list[tuple[int, Any, str | None]] = []
    async for api in make_api(url, ingest_fast_path=fast, ingest_max_body_bytes=2048):
        read_only = await api.key(Scope.READ, name="reader")
        for name, body, headers in [*CASES, ("wrong scope", {"source": "s", "title": "t"}, None)]:
            sent_headers = (
                api.auth(read_only) if name == "wrong scope" else (api.auth() if headers is None else headers)
            )
            if isinstance(body, bytes):
                response = await api.client.post("/api/v1/alerts", content=body, headers=sent_headers)
            else:
                response = await api.client.post("/api/v1/alerts", json=body, headers=sent_headers)
            out.append((response.status_code, response.json(), response.headers.get("www-authenticate")))
    return out


@pytest.fixture
async def both(tmp_path: Path) -> AsyncIterator[tuple[list[Any], list[Any]]]:
    yield await _answers(tmp_path, fast=True), await _answers(tmp_path, fast=False)


async def test_the_fast_door_answers_like_the_router(both: tuple[list[Any], list[Any]]) -> None:
    fast, router = both
    assert [status for status, _, _ in fast] == [200, 200, 200, 422, 422, 413, 401, 401, 403]
    assert fast == router


async def test_the_fast_door_is_the_one_serving(sqlite_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the fast door on, ingest never reaches the router's handler; its latency is still counted."""

    async def router_reached(*_args: object) -> bytes:
        raise AssertionError("the router's ingest handler ran")

    monkeypatch.setattr("alert_handler.api.routes.alerts.accept", router_reached)
    body = {"source": "s", "title": "t"}
    response = await sqlite_api.client.post("/api/v1/alerts", json=body, headers=sqlite_api.auth())
    assert response.status_code == 200, response.text
    metrics = (await sqlite_api.client.get("/metrics")).text
    assert "alert_handler_ingest_request_seconds_count 1.0" in metrics
