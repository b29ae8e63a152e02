"""SQLite write transactions: queued in this process, each holding the write lock from BEGIN, all
on one connection kept for them (closed with the engine)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler import db


def _driver(conn: object) -> object:
    return conn.sync_connection.connection.driver_connection  # type: ignore[attr-defined]


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncEngine:
    engine = db.create_engine(sqlite_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine  # type: ignore[misc]
    await engine.dispose()


async def test_write_transactions_share_one_kept_connection(engine: AsyncEngine) -> None:
    seen = []
    for n in range(3):
        async with db.write(engine) as conn:
            await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            seen.append(_driver(conn))
    assert seen[0] is seen[1] is seen[2]
    assert engine.sync_engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    async with db.read(engine) as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 3
        assert _driver(conn) is not seen[0]  # readers keep their own connections


async def test_a_write_transaction_holds_the_write_lock_from_its_start(engine: AsyncEngine, sqlite_url: str) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    async with db.write(engine):
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


async def test_writers_queue_in_order(engine: AsyncEngine) -> None:
    async def writer(n: int) -> None:
        async with db.write(engine) as conn:
            await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.001)  # another writer waits meanwhile, on the lock

    await asyncio.gather(*(writer(n) for n in range(10)))
    async with db.read(engine) as conn:
        assert [r[0] for r in await conn.execute(text("SELECT n FROM t ORDER BY rowid"))] == list(range(10))


async def test_a_failed_transaction_is_rolled_back_and_the_next_one_works(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with db.write(engine) as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("boom")
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # given back
    async with db.write(engine) as conn:
        await conn.execute(text("INSERT INTO t VALUES (2)"))
    async with db.read(engine) as conn:
        assert [r[0] for r in await conn.execute(text("SELECT n FROM t"))] == [2]
    assert engine.sync_engine.pool.checkedout() == 1  # type: ignore[attr-defined]


async def test_disposing_of_the_engine_closes_the_kept_connection(sqlite_url: str) -> None:
    engine = db.create_engine(sqlite_url)
    async with db.write(engine) as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        driver = _driver(conn)
    await engine.dispose()
    assert driver._connection is None  # type: ignore[attr-defined]  # the SQLite file is closed
    # The engine still works after disposal, on a new connection.
    async with db.write(engine) as conn:
        await conn.execute(text("INSERT INTO t VALUES (1)"))
        assert _driver(conn) is not driver
    await engine.dispose()
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
