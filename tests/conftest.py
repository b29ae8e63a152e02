"""Shared fixtures: databases (SQLite always; PostgreSQL and MariaDB when reachable), apps, keys.

With REQUIRE_SERVICES=1 (CI) a missing PostgreSQL or MariaDB fails the tests that need it;
otherwise those tests skip and say why. Each run gets fresh databases, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler.api.app import create_app
from alert_handler.db import create_engine
from alert_handler.security.keys import Scope
from alert_handler.settings import Settings
from alert_handler.store import api_keys
from alert_handler.store.migrate import upgrade

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_ADMIN_URL = os.environ.get("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
BACKENDS = ("sqlite", "postgresql", "mysql")


def free_port() -> int:
    """A loopback port nothing listens on now, for a server a test starts."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_missing(name: str, why: str) -> None:
    message = f"{name} is not reachable ({why})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; REQUIRE_SERVICES=1 needs it", pytrace=False)
    pytest.skip(f"{message}; set REQUIRE_SERVICES=1 to make this a failure")


async def _admin_execute(admin_url: str, statements: list[str]) -> None:
    engine = create_engine(admin_url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def server_databases() -> Iterator[dict[str, str | Exception]]:
    """One fresh database per server backend for the whole session (or why it is missing)."""
    name = f"ah_test_{uuid.uuid4().hex[:10]}"
    made: dict[str, str | Exception] = {}
    for backend, admin_url in (("postgresql", POSTGRES_ADMIN_URL), ("mysql", MYSQL_ADMIN_URL)):
        try:
            asyncio.run(_admin_execute(admin_url, [f"CREATE DATABASE {name}"]))
            made[backend] = _with_database(admin_url, name)
        except Exception as exc:
            made[backend] = exc
    yield made
    for backend, admin_url in (("postgresql", POSTGRES_ADMIN_URL), ("mysql", MYSQL_ADMIN_URL)):
        if isinstance(made.get(backend), str):
            drop = f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if backend == "postgresql" else "")
            asyncio.run(_admin_execute(admin_url, [drop]))


# Children before parents, for the DELETEs of SQLite and MariaDB.
TABLES = (
    "notifications", "group_members", "alert_groups", "alert_events", "alerts", "api_keys", "silences",
    "config_objects", "heartbeats",
)  # fmt: skip


async def _reset(url: str) -> None:
    """Empty every table of an already-migrated database."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE"))
            else:
                for table in TABLES:
                    await conn.execute(text(f"DELETE FROM {table}"))
    finally:
        await engine.dispose()


_migrated: set[str] = set()


def database_url_for(backend: str, server_databases: dict[str, str | Exception], tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'alerts.db'}"
    found = server_databases[backend]
    if isinstance(found, Exception):
        service_missing(backend, f"{type(found).__name__}: {found}")
    assert isinstance(found, str)
    return found


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, server_databases: dict[str, str | Exception], tmp_path: Path) -> str:
    """A migrated, empty database of the backend under test."""
    url = database_url_for(backend, server_databases, tmp_path)
    if url not in _migrated:
        await asyncio.to_thread(upgrade, url)
        if backend != "sqlite":
            _migrated.add(url)
    await _reset(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    upgrade(url)
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@dataclass
class Api:
    client: httpx.AsyncClient
    admin_key: str
    engine: AsyncEngine

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}

    async def key(self, *scopes: Scope, name: str = "test") -> str:
        from datetime import UTC, datetime

        async with self.engine.begin() as conn:
            _, key = await api_keys.create(
                conn, name=name, scopes=list(scopes), tenant="default", now=datetime.now(UTC)
            )
        return key


async def make_api(database_url: str, **overrides: object) -> AsyncIterator[Api]:
    """The app with an admin key. Processing is off unless `worker_mode` says otherwise, so tests
    of storage see only what ingest wrote."""
    overrides.setdefault("worker_mode", "off")
    settings = Settings(database_url=database_url, _env_file=None, **overrides)  # type: ignore[arg-type]
    app = create_app(settings)
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        from datetime import UTC, datetime

        _, admin = await api_keys.create(
            conn, name="admin", scopes=[Scope.ADMIN], tenant="default", now=datetime.now(UTC)
        )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client, admin, engine)
    await engine.dispose()


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    """The app on the backend under test, with an admin key."""
    async for made in make_api(database_url):
        yield made


@pytest.fixture
async def sqlite_api(sqlite_url: str) -> AsyncIterator[Api]:
    """The app on a fresh SQLite file, for tests where the backend does not matter."""
    async for made in make_api(sqlite_url):
        yield made
