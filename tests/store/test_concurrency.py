"""The key promise: concurrent duplicates, from any number of processes, never make two alerts.

Part one runs `store_batch` in many concurrent transactions over separate engines (each engine
is what one service process holds). Part two starts real service processes on loopback ports
and sends the same alerts to all of them at once over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler import db
from alert_handler.db import create_engine
from alert_handler.domain.alert import IncomingAlert, IngestResult, Outcome
from alert_handler.domain.severity import Severity
from alert_handler.ingest.writer import _is_transient
from alert_handler.store.alert_writes import store_batch
from alert_handler.store.tables import alerts_table, events_table
from tests.conftest import free_port

ENGINES = 4  # "processes"
TASKS_PER_ENGINE = 4  # concurrent transactions in each
BATCHES_PER_TASK = 4
FINGERPRINTS = [f"fp-{i:02d}" for i in range(12)]


def incoming(fingerprint: str, *, resolved: bool = False) -> IncomingAlert:
    return IncomingAlert(
        tenant="default",
        fingerprint=fingerprint,
        source="race",
        severity=Severity.HIGH,
        title=f"race {fingerprint}",
        resolved=resolved,
        actor="api-key:race",
    )


@dataclass
class Race:
    """What every committed transaction sent and what `store_batch` answered."""

    sent: list[IncomingAlert] = field(default_factory=list)
    results: list[IngestResult] = field(default_factory=list)
    retries: int = 0


async def _commit(engine: AsyncEngine, batch: list[IncomingAlert], race: Race) -> None:
    """One transaction, retried on deadlocks the way the ingest writer retries them."""
    for _attempt in range(200):  # only a guard against a livelock: deadlocks are frequent on PostgreSQL
        try:
            async with db.write(engine) as conn:
                results = await store_batch(conn, batch, datetime.now(UTC))
        except DBAPIError as exc:
            if not _is_transient(exc):
                raise
            race.retries += 1
            await asyncio.sleep(random.uniform(0.001, 0.02))
            continue
        race.sent.extend(batch)
        race.results.extend(results)
        return
    raise AssertionError("a transaction kept failing on transient errors")


def _engine(url: str, pool_size: int) -> AsyncEngine:
    """An engine as a service process holds one; on PostgreSQL deadlocks are detected sooner.

    Transactions that lock rows over several rounds can deadlock on PostgreSQL; they are retried
    (as the ingest writer does). `deadlock_timeout` (1 s by default) only sets how long a blocked
    backend waits before PostgreSQL looks for a cycle: lowering it keeps the test fast.
    """
    engine = create_engine(url, pool_size=pool_size)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.autocommit = True  # else the pool's reset-on-return rolls the SET back
            cursor = dbapi_connection.cursor()
            cursor.execute("SET deadlock_timeout = '50ms'")
            cursor.close()
            dbapi_connection.autocommit = False

    return engine


async def _race(url: str, batches: list[list[list[IncomingAlert]]]) -> Race:
    """Run each engine's task list at once; every task commits its batches one after another."""
    engines = [_engine(url, len(tasks)) for tasks in batches]
    race = Race()
    try:
        # Open the connections first, so the transactions start together rather than as they connect.
        for engine, tasks in zip(engines, batches, strict=True):
            conns = [await engine.connect() for _ in tasks]
            for conn in conns:
                await conn.close()
        start = asyncio.Barrier(sum(len(tasks) for tasks in batches))

        async def task(engine: AsyncEngine, task_batches: list[list[IncomingAlert]]) -> None:
            await start.wait()
            for batch in task_batches:
                await _commit(engine, batch, race)

        async with asyncio.timeout(60):
            async with asyncio.TaskGroup() as group:
                for engine, tasks in zip(engines, batches, strict=True):
                    for task_batches in tasks:
                        group.create_task(task(engine, task_batches))
    finally:
        for engine in engines:
            await engine.dispose()
    return race


def _plan(
    rng: random.Random, *, engines: int = ENGINES, tasks_per_engine: int = TASKS_PER_ENGINE, resolve_share: float = 0.0
) -> list[list[list[list[IncomingAlert]]]]:
    plan = []
    for _ in range(engines):
        tasks = []
        for _ in range(tasks_per_engine):
            batches = []
            for _ in range(BATCHES_PER_TASK):
                chosen = rng.sample(FINGERPRINTS, 8) + rng.choices(FINGERPRINTS, k=4)  # some twice in a batch
                rng.shuffle(chosen)
                batches.append([incoming(fp, resolved=rng.random() < resolve_share) for fp in chosen])
            tasks.append(batches)
        plan.append(tasks)
    return plan


async def _rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with db.read(engine) as conn:
        return [dict(r._mapping) for r in await conn.execute(select(alerts_table).order_by(alerts_table.c.id))]


async def _duplicate_event_counts(engine: AsyncEngine) -> Counter[int]:
    counts: Counter[int] = Counter()
    async with db.read(engine) as conn:
        query = select(events_table.c.alert_id, events_table.c.detail).where(events_table.c.kind == "duplicate")
        for alert_id, detail in await conn.execute(query):
            counts[alert_id] += detail["count"]
    return counts


async def test_concurrent_duplicates_from_separate_engines_make_one_alert(
    database_url: str, engine: AsyncEngine
) -> None:
    race = await _race(database_url, _plan(random.Random(20260301)))

    arrivals = Counter(a.fingerprint for a in race.sent)
    assert sum(arrivals.values()) == ENGINES * TASKS_PER_ENGINE * BATCHES_PER_TASK * 12
    rows = await _rows(engine)
    assert sorted(r["fingerprint"] for r in rows) == sorted(arrivals), "more than one alert for a fingerprint"
    by_fingerprint = {r["fingerprint"]: r for r in rows}
    for fingerprint, count in arrivals.items():
        row = by_fingerprint[fingerprint]
        assert row["status"] == "firing"
        assert row["active_key"] == f"default/{fingerprint}"
        assert row["duplicate_count"] == count - 1, fingerprint

    outcomes = Counter((r.fingerprint, r.outcome) for r in race.results)
    for fingerprint in arrivals:
        assert outcomes[(fingerprint, Outcome.CREATED)] == 1
        assert outcomes[(fingerprint, Outcome.DUPLICATE)] == arrivals[fingerprint] - 1
    assert {r.id for r in race.results} == {r["id"] for r in rows}
    # The timeline agrees with the counter: no duplicate event was lost or counted twice.
    assert await _duplicate_event_counts(engine) == Counter({r["id"]: r["duplicate_count"] for r in rows})


async def test_concurrent_fire_and_resolve_keeps_every_count(database_url: str, engine: AsyncEngine) -> None:
    """With resolutions in the mix occurrences come and go, but no arrival is lost or doubled."""
    race = await _race(database_url, _plan(random.Random(7), resolve_share=0.25))

    rows = await _rows(engine)
    open_keys = [r["active_key"] for r in rows if r["status"] != "resolved"]
    assert None not in open_keys
    assert len(open_keys) == len(set(open_keys)), "two open alerts for one fingerprint"
    assert all(r["active_key"] is None for r in rows if r["status"] == "resolved")
    assert {r.id for r in race.results} == {r["id"] for r in rows}, "a row no answer points at, or the reverse"

    answers: dict[int, Counter[Outcome]] = defaultdict(Counter)
    firing_duplicates: Counter[int] = Counter()
    for result, sent in zip(race.results, race.sent, strict=True):
        assert result.fingerprint == sent.fingerprint
        answers[result.id][result.outcome] += 1
        if result.outcome is Outcome.DUPLICATE and not sent.resolved:
            firing_duplicates[result.id] += 1
    for row in rows:
        answered = answers[row["id"]]
        started = answered[Outcome.CREATED] + answered[Outcome.REOPENED]
        assert started <= 1, f"two arrivals both created alert {row['id']}"
        if started == 0:  # stored straight as resolved: a resolution nobody saw fire
            assert row["status"] == "resolved" and answered[Outcome.RESOLVED] == 1
        assert (answered[Outcome.REOPENED] == 1) == (row["previous_id"] is not None)
        assert answered[Outcome.RESOLVED] == (1 if row["status"] == "resolved" else 0)
        assert row["duplicate_count"] == firing_duplicates[row["id"]], row["fingerprint"]
    assert await _duplicate_event_counts(engine) == +Counter({r["id"]: r["duplicate_count"] for r in rows})


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_a_resolution_racing_the_creation_of_its_alert(backend: str, engine: AsyncEngine) -> None:
    """A resolved arrival that cannot see the uncommitted firing one is stored as its own resolved
    occurrence, with a newer id than the open alert. Later arrivals must still find the open alert."""
    async with asyncio.timeout(10), engine.connect() as first, engine.connect() as second:
        await first.begin()
        [created] = await store_batch(first, [incoming("raced")], datetime.now(UTC))  # not committed yet
        async with second.begin():
            [resolved] = await store_batch(second, [incoming("raced", resolved=True)], datetime.now(UTC))
        await first.commit()
    assert created.outcome is Outcome.CREATED
    assert resolved.outcome is Outcome.RESOLVED
    assert resolved.id > created.id

    async with asyncio.timeout(10):
        async with db.write(engine) as conn:
            [again] = await store_batch(conn, [incoming("raced")], datetime.now(UTC))
        async with db.write(engine) as conn:
            [ended] = await store_batch(conn, [incoming("raced", resolved=True)], datetime.now(UTC))
    assert (again.outcome, again.id) == (Outcome.DUPLICATE, created.id)
    assert (ended.outcome, ended.id) == (Outcome.RESOLVED, created.id)
    rows = await _rows(engine)
    assert [(r["id"], r["status"]) for r in rows] == [(created.id, "resolved"), (resolved.id, "resolved")]
    assert rows[0]["duplicate_count"] == 1


# --- part two: real service processes -------------------------------------------------------

SERVERS = 3
REQUESTS_PER_SERVER = 12
HTTP_FINGERPRINTS = 10


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _start(database_url: str, port: int, log: Path) -> Server:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AUTH_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "uvicorn", "alert_handler.api.main:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    return Server(process, port, log)


async def _wait_ready(servers: list[Server], client: httpx.AsyncClient, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    pending = list(servers)
    while pending:
        for server in list(pending):
            if server.process.poll() is not None:
                pytest.fail(f"server on port {server.port} exited with {server.process.returncode}:\n{server.output()}")
            try:
                response = await client.get(f"{server.url}/health/db", timeout=2)
            except httpx.TransportError:
                continue
            if response.status_code == 200:
                pending.remove(server)
        if time.monotonic() > deadline:
            pytest.fail(f"servers not ready in {seconds} s: {[s.output() for s in pending]}")
        await asyncio.sleep(0.1)


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    """`SERVERS` service processes on loopback ports, sharing the migrated, empty test database."""
    started: list[Server] = []
    try:
        for index in range(SERVERS):
            started.append(_start(database_url, free_port(), tmp_path / f"server-{index}.log"))
        yield started
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=5)


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_concurrent_requests_to_several_processes_make_one_alert_per_fingerprint(
    backend: str, servers: list[Server]
) -> None:
    rng = random.Random(42)
    alerts = [
        {"source": "multi-process", "title": f"disk full on db-{i}", "severity": "high", "labels": {"host": f"db-{i}"}}
        for i in range(HTTP_FINGERPRINTS)
    ]
    limits = httpx.Limits(max_connections=SERVERS * REQUESTS_PER_SERVER)
    async with httpx.AsyncClient(limits=limits, timeout=20) as client:
        await _wait_ready(servers, client)

        async def post(server: Server, body: Any) -> httpx.Response:
            return await client.post(f"{server.url}/api/v1/alerts", json=body)

        bodies: list[tuple[Server, Any]] = []
        for server in servers:
            for n in range(REQUESTS_PER_SERVER):
                if n % 3 == 2:  # some requests send one alert, the others the whole set in a random order
                    bodies.append((server, rng.choice(alerts)))
                else:
                    bodies.append((server, rng.sample(alerts, len(alerts))))
        async with asyncio.timeout(25):
            responses = await asyncio.gather(*(post(server, body) for server, body in bodies))

        failed = [(r.status_code, r.text) for r in responses if not r.is_success]
        assert not failed, f"{len(failed)} requests failed: {failed[:3]}"
        arrivals: Counter[str] = Counter()
        ids: dict[str, set[int]] = defaultdict(set)
        outcomes: Counter[tuple[str, str]] = Counter()
        for (_, body), response in zip(bodies, responses, strict=True):
            answer = response.json()
            results = answer["results"] if isinstance(body, list) else [answer]
            for sent, result in zip(body if isinstance(body, list) else [body], results, strict=True):
                arrivals[sent["title"]] += 1
                ids[sent["title"]].add(result["id"])
                outcomes[(sent["title"], result["outcome"])] += 1
        assert len(arrivals) == HTTP_FINGERPRINTS
        for title, count in arrivals.items():
            assert len(ids[title]) == 1, f"{title}: answered with several alert ids {ids[title]}"
            assert outcomes[(title, "created")] == 1
            assert outcomes[(title, "duplicate")] == count - 1

        listed = await client.get(f"{servers[0].url}/api/v1/alerts", params={"limit": 500})
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert page["total"] == HTTP_FINGERPRINTS, "more than one alert for a fingerprint"
        for item in page["items"]:
            assert item["status"] == "firing"
            assert {item["id"]} == ids[item["title"]]
            assert item["duplicate_count"] == arrivals[item["title"]] - 1, item["title"]
    for server in servers:
        assert server.process.poll() is None, server.output()
        assert "Traceback" not in server.output(), server.output()
