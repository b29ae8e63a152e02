"""The `alert-handler` command: version, migrate, API keys, and serve + send-test-alert end to end."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect, select
from typer.testing import CliRunner, Result

from alert_handler import __version__, cli
from alert_handler.db import create_engine
from alert_handler.security.keys import hash_key
from alert_handler.settings import get_settings
from alert_handler.store.migrate import head_revision
from alert_handler.store.tables import api_keys_table
from tests.conftest import free_port, make_api

KEY = re.compile(r"ah_[A-Za-z0-9_-]{43}")
COMMANDS = ("serve", "migrate", "create-api-key", "revoke-api-key", "list-api-keys", "send-test-alert", "version")
ALERT_HANDLER = Path(sys.executable).with_name("alert-handler")


@pytest.fixture(autouse=True)
def _in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Commands run in this process: settings are read afresh for each, and the log set-up
    (which points loguru at the runner's captured stderr) is left alone."""
    monkeypatch.setattr(cli, "configure", lambda *args, **kwargs: None)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(database_url: str, *args: str) -> Result:
    get_settings.cache_clear()
    env = {"DATABASE_URL": database_url, "AUTH_ENABLED": "true"}
    return CliRunner().invoke(cli.app, list(args), env=env)


def migrated(database_url: str) -> str:
    result = run(database_url, "migrate")
    assert result.exit_code == 0, result.output
    return database_url


def create_key(database_url: str, name: str, *scopes: str) -> str:
    result = run(database_url, "create-api-key", "--name", name, *(a for s in scopes for a in ("--scope", s)))
    assert result.exit_code == 0, result.output
    found = KEY.fullmatch(result.stdout.strip())
    assert found, f"stdout is not just the key: {result.stdout!r}"
    return found.group(0)


async def _stored_hashes(database_url: str) -> list[tuple[str, str, list[str], bool]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(api_keys_table).order_by(api_keys_table.c.id))
            return [(r.name, r.key_hash, list(r.scopes), r.revoked_at is not None) for r in rows]
    finally:
        await engine.dispose()


async def _tables(database_url: str) -> tuple[set[str], str | None]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            version = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).scalar_one_or_none()
            return names, version
    finally:
        await engine.dispose()


def test_version(database_url: str) -> None:
    result = run(database_url, "version")
    assert result.exit_code == 0
    assert result.stdout.strip() == __version__


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(database_url: str, command: str) -> None:
    result = run(database_url, command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout


def test_no_command_shows_help(database_url: str) -> None:
    result = run(database_url)
    assert "Usage:" in result.output
    for command in COMMANDS:
        assert command in result.output


def test_migrate_creates_the_schema(database_url: str) -> None:
    result = run(database_url, "migrate")
    assert result.exit_code == 0, result.output
    assert "database is at head" in result.stdout
    tables, version = asyncio.run(_tables(database_url))
    assert {"alerts", "alert_events", "api_keys"} <= tables
    assert version == head_revision()
    assert run(database_url, "migrate").exit_code == 0  # again: nothing to do, no error


async def test_created_key_authenticates_with_its_scopes(database_url: str) -> None:
    await asyncio.to_thread(migrated, database_url)
    result = await asyncio.to_thread(
        run, database_url, "create-api-key", "--name", "x", "--scope", "ingest", "--scope", "read"
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert KEY.fullmatch(key), result.stdout
    assert key not in result.stderr  # the note goes to stderr, the key alone to stdout
    assert "'x'" in result.stderr and "ingest, read" in result.stderr

    [(name, key_hash, scopes, revoked)] = await _stored_hashes(database_url)
    assert (name, scopes, revoked) == ("x", ["ingest", "read"], False)
    assert key_hash == hash_key(key) and key not in key_hash  # stored as a hash only

    async for api in make_api(database_url):
        headers = api.auth(key)
        sent = await api.client.post("/api/v1/alerts", json={"source": "cli", "title": "t"}, headers=headers)
        assert sent.status_code == 200, sent.text
        assert (await api.client.get("/api/v1/alerts", headers=headers)).status_code == 200
        acknowledged = await api.client.post(f"/api/v1/alerts/{sent.json()['id']}/acknowledge", headers=headers)
        assert acknowledged.status_code == 403  # no write scope
        assert (await api.client.get("/api/v1/api-keys", headers=headers)).status_code == 403
        assert (await api.client.get("/api/v1/alerts", headers=api.auth(key[:-1] + "x"))).status_code == 401


def test_create_api_key_refuses_an_unknown_scope(database_url: str) -> None:
    migrated(database_url)
    result = run(database_url, "create-api-key", "--name", "x", "--scope", "root")
    assert result.exit_code == 2
    assert asyncio.run(_stored_hashes(database_url)) == []


def test_list_api_keys_never_prints_a_key(database_url: str) -> None:
    migrated(database_url)
    keys = [create_key(database_url, "ingester", "ingest"), create_key(database_url, "reader", "read", "write")]
    result = run(database_url, "list-api-keys")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    for line, key, name in zip(lines, keys, ("ingester", "reader"), strict=True):
        assert name in line and "active" in line
        assert key[:9] in line  # the display prefix, enough to tell keys apart
        assert key not in result.output
        assert key[9:] not in result.output  # not even the secret part
        assert hash_key(key) not in result.output
    assert "read,write" in lines[1]


async def test_revoke_api_key_by_name(database_url: str) -> None:
    await asyncio.to_thread(migrated, database_url)
    key = await asyncio.to_thread(create_key, database_url, "doomed", "read")
    keep = await asyncio.to_thread(create_key, database_url, "kept", "read")

    result = await asyncio.to_thread(run, database_url, "revoke-api-key", "doomed")
    assert result.exit_code == 0, result.output
    assert "revoked 1 key(s)" in result.stdout
    assert [(n, r) for n, _, _, r in await _stored_hashes(database_url)] == [("doomed", True), ("kept", False)]

    listed = await asyncio.to_thread(run, database_url, "list-api-keys")
    assert "revoked" in listed.stdout.splitlines()[0] and "active" in listed.stdout.splitlines()[1]
    async for api in make_api(database_url):
        assert (await api.client.get("/api/v1/alerts", headers=api.auth(key))).status_code == 401
        assert (await api.client.get("/api/v1/alerts", headers=api.auth(keep))).status_code == 200

    again = await asyncio.to_thread(run, database_url, "revoke-api-key", "doomed")
    assert again.exit_code == 1  # already revoked: nothing matches any more
    assert "no active key matches 'doomed'" in again.stderr


def test_revoke_unknown_key_exits_1(database_url: str) -> None:
    migrated(database_url)
    create_key(database_url, "real", "read")
    result = run(database_url, "revoke-api-key", "imaginary")
    assert result.exit_code == 1
    assert "no active key matches 'imaginary'" in result.stderr
    assert [r for *_, r in asyncio.run(_stored_hashes(database_url))] == [False]


def test_send_test_alert_to_nothing_exits_2(database_url: str) -> None:
    result = run(database_url, "send-test-alert", "--api-key", "ah_x", "--url", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 2
    assert "could not reach" in result.stderr


# --- serve, for real ---------------------------------------------------------------------------


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _serve(database_url: str, workdir: Path, name: str, **env: str) -> Served:
    port = free_port()
    log = workdir / f"{name}.log"
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AUTH_ENABLED": "true",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    command = [str(ALERT_HANDLER), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    served = Served(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"`alert-handler serve` exited with {process.returncode}:\n{served.output()}")
        try:
            if httpx.get(f"{served.url}/health", timeout=1).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            _stop(served)
            pytest.fail(f"`alert-handler serve` did not answer in 30 s:\n{served.output()}")
        time.sleep(0.1)


def _stop(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait(timeout=5)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The servers' working directory: no stray `.env` is read from it."""
    path = tmp_path / "run"
    path.mkdir()
    return path


def test_serve_prints_the_admin_key_once_and_send_test_alert_uses_it(database_url: str, workdir: Path) -> None:
    served = _serve(database_url, workdir, "first")
    try:
        banner = served.output()
        keys = set(KEY.findall(banner))
        assert len(keys) == 1, f"expected one admin key in the banner:\n{banner}"
        [key] = keys
        key_lines = [line for line in banner.splitlines() if key in line]
        assert any(line.strip() == key for line in key_lines)  # on a line of its own, to copy

        result = run(database_url, "send-test-alert", "--api-key", key, "--url", served.url, "--severity", "critical")
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("200 ")
        assert '"outcome":"created"' in result.stdout.replace(" ", "")

        listed = httpx.get(f"{served.url}/api/v1/alerts", headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert listed.status_code == 200
        [item] = listed.json()["items"]
        assert (item["source"], item["severity"], item["tags"]) == ("alert-handler-cli", "critical", ["test"])

        refused = run(database_url, "send-test-alert", "--api-key", key[:-2] + "xx", "--url", served.url)
        assert refused.exit_code == 1
        assert refused.stdout.startswith("401 ")

        # More authenticated requests, each way a key can travel.
        httpx.get(f"{served.url}/api/v1/alerts/{item['id']}", headers={"X-API-Key": key}, timeout=5)
        httpx.get(f"{served.url}/api/v1/api-keys", auth=("anyone", key), timeout=5)
    finally:
        _stop(served)
    log = served.output()
    assert [line for line in log.splitlines() if key in line] == key_lines, "the key was logged after the banner"
    assert hash_key(key) not in log

    # A second start on the same database shows no key at all.
    # Now with every log line there is: still no key. (At DEBUG aiosqlite logs SQL parameters,
    # among them the key's SHA-256 when a request is authenticated; never the key itself.)
    again = _serve(database_url, workdir, "second", ACCESS_LOG="true", LOG_LEVEL="DEBUG")
    try:
        assert not KEY.search(again.output()), again.output()
        assert "API keys exist already" in again.output()
        answered = run(database_url, "send-test-alert", "--api-key", key, "--url", again.url, "--resolve")
        assert answered.exit_code == 0, answered.output
        assert '"outcome":"resolved"' in answered.stdout.replace(" ", "")
        assert httpx.get(f"{again.url}/api/v1/alerts", headers={"X-API-Key": key}, timeout=5).status_code == 200
    finally:
        _stop(again)
    log = again.output()
    assert "/api/v1/alerts" in log  # the access log is on, so requests were logged...
    assert key not in log  # ...without the key
