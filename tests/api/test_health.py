"""Health checks, Prometheus metrics and the API documentation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from alert_handler.api.app import create_app
from alert_handler.settings import Settings
from tests.api.conftest import ALERTS, ingest
from tests.conftest import Api

NOWHERE = "postgresql://postgres@127.0.0.1:1/nothing"  # nothing listens on port 1


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def app_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An app with the given settings, without touching its database first."""
    app = create_app(Settings(_env_file=None, **overrides))  # type: ignore[call-arg]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def unreachable() -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(database_url=NOWHERE, auth_enabled=False):
        yield client


class TestHealth:
    async def test_liveness(self, sqlite_api: Api) -> None:
        response = await sqlite_api.client.get("/health")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"

    async def test_database_ok_names_the_backend(self, api: Api) -> None:
        response = await api.client.get("/health/db")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["detail"] == api.engine.dialect.name
        assert body["latency_ms"] >= 0

    async def test_redis_not_configured(self, sqlite_api: Api) -> None:
        response = await sqlite_api.client.get("/health/redis")
        assert response.status_code == 200
        assert response.json()["status"] == "not configured"

    async def test_health_needs_no_key(self, sqlite_api: Api) -> None:
        for path in ("/health", "/health/db", "/health/redis", "/metrics"):
            assert (await sqlite_api.client.get(path)).status_code == 200, path


class TestUnreachableDatabase:
    async def test_health_db_is_503_and_counted(self, unreachable: httpx.AsyncClient) -> None:
        assert (await unreachable.get("/health")).status_code == 200  # the process itself is fine
        response = await unreachable.get("/health/db")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "error"
        assert "unreachable" in body["detail"]
        metrics = await scrape(unreachable)
        assert metrics[("alert_handler_database_errors_total", (("operation", "health"),))] == 1.0
        assert metrics[("alert_handler_database_errors_total", (("operation", "metrics"),))] == 1.0

    async def test_api_routes_are_503_not_500(self, unreachable: httpx.AsyncClient) -> None:
        ingest_response = await unreachable.post(ALERTS, json={"source": "s", "title": "t"})
        assert ingest_response.status_code == 503, ingest_response.text
        assert ingest_response.headers["retry-after"]
        for method, path, body in (
            ("GET", ALERTS, None),
            ("GET", f"{ALERTS}/1", None),
            ("GET", f"{ALERTS}/stats", None),
            ("PUT", f"{ALERTS}/1/status", {"status": "resolved"}),
        ):
            response = await unreachable.request(method, path, json=body)
            assert response.status_code == 503, (method, path, response.text)
        metrics = await scrape(unreachable)
        assert metrics[("alert_handler_database_errors_total", (("operation", "ingest"),))] >= 1.0
        assert metrics[("alert_handler_database_errors_total", (("operation", "api"),))] == 4.0

    async def test_authentication_against_an_unreachable_database_is_503(self) -> None:
        async for client in app_client(database_url=NOWHERE):
            response = await client.get(ALERTS, headers={"Authorization": "Bearer ah_something"})
            assert response.status_code == 503

    async def test_redis_unreachable_is_503(self, sqlite_url: str) -> None:
        async for client in app_client(database_url=sqlite_url, redis_url="redis://127.0.0.1:1/0"):
            response = await client.get("/health/redis")
            assert response.status_code == 503
            assert response.json()["status"] == "error"


class TestMetrics:
    async def test_alerts_received_by_source_severity_and_outcome(self, api: Api) -> None:
        await ingest(api, {"source": "prometheus", "title": "a", "severity": "critical"})
        await ingest(api, {"source": "prometheus", "title": "a", "severity": "critical"})
        await ingest(api, [{"source": "zabbix", "title": "b", "severity": "minor", "status": "resolved"}])
        metrics = await scrape(api.client)

        def received(source: str, severity: str, outcome: str) -> float:
            labels = (("outcome", outcome), ("severity", severity), ("source", source))
            return metrics.get(("alert_handler_alerts_received_total", labels), 0.0)

        assert received("prometheus", "critical", "created") == 1.0
        assert received("prometheus", "critical", "duplicate") == 1.0
        assert received("zabbix", "warning", "resolved") == 1.0
        assert received("zabbix", "warning", "created") == 0.0

    async def test_ingest_latency_histogram_counts_answered_requests(self, sqlite_api: Api) -> None:
        for i in range(3):
            await ingest(sqlite_api, {"source": "s", "title": f"t{i}"})
        await sqlite_api.client.post(ALERTS, json={"source": "s"}, headers=sqlite_api.auth())  # 422
        metrics = await scrape(sqlite_api.client)
        assert metrics[("alert_handler_ingest_request_seconds_count", ())] == 3.0
        assert metrics[("alert_handler_ingest_request_seconds_bucket", (("le", "+Inf"),))] == 3.0
        assert metrics[("alert_handler_ingest_request_seconds_sum", ())] > 0

    async def test_open_alerts_by_severity(self, api: Api) -> None:
        first = await ingest(api, {"source": "s", "title": "a", "severity": "critical"})
        await ingest(api, {"source": "s", "title": "b", "severity": "critical"})
        await ingest(api, {"source": "s", "title": "c", "severity": "warning"})
        await ingest(api, {"source": "s", "title": "d", "severity": "info", "status": "resolved"})
        await api.client.post(f"{ALERTS}/{first['id']}/acknowledge", headers=api.auth())

        def gauge(metrics: dict[Any, float], severity: str) -> float:
            return metrics[("alert_handler_open_alerts", (("severity", severity),))]

        metrics = await scrape(api.client)
        assert [gauge(metrics, s) for s in ("critical", "high", "warning", "info")] == [2.0, 0.0, 1.0, 0.0]
        await ingest(api, {"source": "s", "title": "c", "severity": "warning", "status": "resolved"})
        metrics = await scrape(api.client)
        assert gauge(metrics, "warning") == 0.0

    async def test_database_errors_counter_is_exposed(self, sqlite_api: Api) -> None:
        response = await sqlite_api.client.get("/metrics")
        assert "# TYPE alert_handler_database_errors_total counter" in response.text
        assert "# TYPE alert_handler_ingest_request_seconds histogram" in response.text


class TestDocumentation:
    async def test_openapi_lists_the_routes(self, sqlite_api: Api) -> None:
        response = await sqlite_api.client.get("/openapi.json")
        assert response.status_code == 200
        schema = response.json()
        paths = schema["paths"]
        expected = {
            "/api/v1/alerts": {"get", "post"},
            "/api/v1/alerts/stats": {"get"},
            "/api/v1/alerts/{alert_id}": {"get"},
            "/api/v1/alerts/{alert_id}/status": {"put"},
            "/api/v1/alerts/{alert_id}/acknowledge": {"post"},
            "/api/v1/alerts/{alert_id}/resolve": {"post"},
            "/api/v1/alerts/{alert_id}/notes": {"post"},
            "/api/v1/api-keys": {"get", "post"},
            "/api/v1/api-keys/{key_id}": {"delete"},
            "/health": {"get"},
            "/health/db": {"get"},
            "/health/redis": {"get"},
            "/metrics": {"get"},
        }
        for path, methods in expected.items():
            assert path in paths, path
            assert methods <= set(paths[path]), path
        body = paths["/api/v1/alerts"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert {"$ref": "#/components/schemas/NativeAlert"} in body["oneOf"]
        native = schema["components"]["schemas"]["NativeAlert"]
        assert {"source", "title"} <= set(native["required"])
        assert native["additionalProperties"] is False
        assert set(schema["components"]["securitySchemes"]) == {"bearer", "apiKey"}

    async def test_every_schema_reference_resolves(self, sqlite_api: Api) -> None:
        schema = (await sqlite_api.client.get("/openapi.json")).json()
        components = schema["components"]["schemas"]
        refs: list[str] = []

        def collect(node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "$ref":
                        refs.append(value)
                    else:
                        collect(value)
            elif isinstance(node, list):
                for item in node:
                    collect(item)

        collect(schema)
        assert refs
        for ref in refs:
            assert ref.startswith("#/components/schemas/"), ref
            assert ref.rsplit("/", 1)[1] in components, ref

    @pytest.mark.parametrize("path", ["/docs", "/redoc"])
    async def test_documentation_pages(self, sqlite_api: Api, path: str) -> None:
        response = await sqlite_api.client.get(path)
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
        assert "/openapi.json" in response.text
