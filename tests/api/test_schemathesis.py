"""Property-based API tests from the OpenAPI document: bad input is a 4xx, never a 5xx.

Schemathesis generates requests for every operation (valid ones, and with `negative` data
invalid ones) and sends them, with an admin key, to the app running its lifespan on SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette_testclient import TestClient

from alert_handler.api.app import create_app
from alert_handler.db import create_engine
from alert_handler.security.keys import Scope
from alert_handler.settings import Settings
from alert_handler.store import api_keys
from alert_handler.store.migrate import upgrade

BASE_URL = "http://testserver"
MAX_EXAMPLES = 40
MAX_NEGATIVE_EXAMPLES = 25  # generating invalid data is the slow part: hypothesis discards many drafts


def _settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]


# The document only: building the app touches no database (that happens in its lifespan).
# FastAPI writes OpenAPI 3.1; schemathesis 3 reads it as 3.0 when told to.
schema = schemathesis.from_dict(
    create_app(_settings("sqlite:///unused.db")).openapi(), base_url=BASE_URL, force_schema_version="30"
)


@dataclass
class Running:
    session: TestClient
    headers: dict[str, str]
    admin_id: int
    spare_key_ids: list[int]


async def _keys(database_url: str) -> tuple[str, int, list[int]]:
    """The admin key the requests use, and a few more keys that generated requests may revoke."""
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            admin, key = await api_keys.create(
                conn, name="schemathesis", scopes=[Scope.ADMIN], tenant="default", now=now
            )
            spares = [
                (await api_keys.create(conn, name=f"spare-{n}", scopes=[Scope.READ], tenant="default", now=now))[0].id
                for n in range(3)
            ]
    finally:
        await engine.dispose()
    return key, admin.id, spares


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The app on a fresh SQLite file, its lifespan running for the whole module, and an admin key."""
    path: Path = tmp_path_factory.mktemp("schemathesis") / "alerts.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    key, admin_id, spares = asyncio.run(_keys(url))
    # Schemathesis sends the documented security headers itself; these take their place.
    headers = {"Authorization": f"Bearer {key}", "X-API-Key": key}
    with TestClient(create_app(_settings(url)), base_url=BASE_URL) as session:
        # Something to find: generated ids and filters then hit real rows now and then.
        for n in range(5):
            body = {"source": "seed", "title": f"seed {n}", "severity": "high", "labels": {"n": str(n)}}
            response = session.post("/api/v1/alerts", json=body, headers=headers)
            assert response.status_code == 200, response.text
        yield Running(session, headers, admin_id, spares)


def _check(case: Any, running: Running, *checks: Any) -> None:
    if case.path_parameters and case.path_parameters.get("key_id") == running.admin_id:
        # Revoking the key every request uses would turn the rest of the run into 401s.
        case.path_parameters["key_id"] = running.spare_key_ids[0]
    response = case.call(session=running.session, headers=running.headers)
    case.validate_response(response, checks=checks)
    assert response.status_code != 401, "the admin key stopped working"


def _documented_body(ctx: Any, response: Any, case: Any) -> bool | None:
    """The answer's body matches the documented schema, for successful answers.

    Error answers are left out: a 422 raised by a route (`HTTPException(422, "why")`) carries a
    string `detail`, while FastAPI documents every 422 as its validation-error list.
    """
    if response.status_code >= 400:
        return None
    return response_schema_conformance(ctx, response, case)  # type: ignore[no-any-return]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_valid_requests_get_documented_answers(case: Any, running: Running) -> None:
    _check(case, running, not_a_server_error, status_code_conformance, content_type_conformance, _documented_body)


# Operations that take no input have no invalid requests to make.
# A receiver's test and preview take only a free-form name, which no request can get wrong.
_WITH_INPUT = (
    schema.exclude(path_regex=r"^/(health|metrics)")
    .exclude(method="GET", path="/api/v1/api-keys")
    .exclude(path_regex=r"^/api/v1/receivers/")
)


@_WITH_INPUT.parametrize(data_generation_methods=[schemathesis.DataGenerationMethod.negative])
@settings(max_examples=MAX_NEGATIVE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_invalid_requests_are_a_client_error(case: Any, running: Running) -> None:
    _check(case, running, not_a_server_error)
