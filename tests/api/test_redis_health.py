"""`/health/redis`: a PING to the configured Redis; 503 when it does not answer."""

from __future__ import annotations

import os

from redis.asyncio import Redis

from tests.conftest import make_api, service_missing

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


async def _require_redis() -> None:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        service_missing("redis", f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()


async def test_reachable_redis_is_ok(sqlite_url: str) -> None:
    await _require_redis()
    async for api in make_api(sqlite_url, redis_url=REDIS_URL):
        response = await api.client.get("/health/redis")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "ok"
        assert isinstance(body["latency_ms"], float) and body["latency_ms"] >= 0


async def test_unreachable_redis_is_503(sqlite_url: str) -> None:
    async for api in make_api(sqlite_url, redis_url=DEAD_REDIS_URL):
        response = await api.client.get("/health/redis")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["status"] == "error"
        assert body["detail"].startswith("redis unreachable (")
        assert "127.0.0.1:1" not in body["detail"]  # says what failed, not where the server is
        # The rest of the service does not depend on it.
        assert (await api.client.get("/health")).status_code == 200
        assert (await api.client.get("/health/db")).status_code == 200
