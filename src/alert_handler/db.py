"""Engine factory: turns the DATABASE_URL users write into the async driver we run on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from alert_handler import sqlite_inline
from alert_handler.sqlite_checkpoint import SAFETY_NET_PAGES

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "mysql": "mysql+aiomysql"}
_BACKEND_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}


def async_url(database_url: str) -> URL:
    """`postgresql://…`, `mysql+pymysql://…` or `sqlite:///…` as the async URL to connect with."""
    url = make_url(database_url)
    backend = _BACKEND_ALIASES.get(url.get_backend_name(), url.get_backend_name())
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"DATABASE_URL: unsupported database {backend!r}; use sqlite, postgresql or mysql")
    url = url.set(drivername=_ASYNC_DRIVERS[backend])
    query = dict(url.query)
    if backend == "postgresql" and "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    if backend == "mysql":
        query.setdefault("charset", "utf8mb4")
    return url.set(query=query)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(database_url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    url = async_url(database_url)
    kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if url.get_backend_name() != "sqlite":
        # No pre-ping: it costs a round trip per transaction; a dropped connection surfaces as
        # an invalidated-connection error, which the callers retry on a fresh connection.
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)
    if url.get_backend_name() == "postgresql":
        # Plan each ingest statement for the arrays it gets: a generic plan made while the table
        # was small (a sequential scan) would otherwise stay in use as it grows.
        kwargs["connect_args"] = {"server_settings": {"plan_cache_mode": "force_custom_plan"}}
    if url.get_backend_name() == "mysql":
        # As PostgreSQL does by default: each statement sees what others committed, which the
        # upsert relies on when an insert loses a race (InnoDB's default reads a snapshot).
        kwargs["isolation_level"] = "READ COMMITTED"
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        kwargs["async_creator"] = sqlite_inline.connector(url.database)
    engine = create_async_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    if url.get_backend_name() == "postgresql":
        # An INSERT of many rows as multi-row statements, not one execution per row (asyncpg's
        # executemany): a row of timeline or group membership costs a third of the server's CPU.
        engine.sync_engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, and explicit BEGIN so a write transaction takes the lock up front."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        # A short busy timeout: statements run on the event loop (sqlite_inline.py), and only
        # another process (a CLI command) can hold the write lock.
        # Checkpoints run off the event loop (sqlite_checkpoint.py); this limit is only its safety net.
        pragmas = ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=2000",
                   f"wal_autocheckpoint={SAFETY_NET_PAGES}")  # fmt: skip
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        driver = conn.connection.driver_connection
        if isinstance(driver, sqlite_inline.InlineConnection):
            driver.begin(mode)  # on the loop's thread, as its statements run: no round through SQLAlchemy
        else:
            conn.exec_driver_sql(f"BEGIN {mode}")

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def _on_dispose(_engine: Any) -> None:
        _writer_of(engine).drop()


class _SqliteWriter:
    """SQLite has one writer. Writers of this process (ingest, the worker, the API) queue on `lock`,
    in order, instead of in SQLite's busy handler, which sleeps in growing steps (up to 100 ms)
    and so turns a few milliseconds of waiting into a second at the tail. Their transactions run
    on one connection kept for them: a checkout from the pool and its return cost more than an
    empty transaction (measured: 310 µs of CPU per write transaction with them, 130 without).
    Disposing of the engine closes it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.conn: AsyncConnection | None = None

    async def connection(self, engine: AsyncEngine) -> AsyncConnection:
        if self.conn is None or self.conn.closed or self.conn.invalidated:
            self.conn = await engine.connect()
        return self.conn

    async def give_back(self) -> None:
        """Return the kept connection to the pool (which discards it if it broke)."""
        conn, self.conn = self.conn, None
        if conn is not None:
            await conn.close()

    def drop(self) -> None:
        """Close the kept connection at once (the engine is being disposed; this runs in its greenlet)."""
        conn, self.conn = self.conn, None
        if conn is not None and not conn.closed:
            conn.sync_connection.invalidate()  # type: ignore[union-attr]


def _writer_of(engine: AsyncEngine) -> _SqliteWriter:
    # Kept on the engine itself: a dictionary keyed by the engine would hold it forever, since the
    # kept connection refers to its engine.
    writer: _SqliteWriter | None = getattr(engine.sync_engine, "_alert_handler_writer", None)
    if writer is None:
        writer = _SqliteWriter()
        engine.sync_engine._alert_handler_writer = writer  # type: ignore[attr-defined]
    return writer


@asynccontextmanager
async def write(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction (on SQLite it holds the write lock from its first statement, and runs
    on the connection this process keeps for writing: see `_SqliteWriter`)."""
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            yield conn
        return
    writer = _writer_of(engine)
    async with writer.lock:
        conn = await writer.connection(engine)
        try:
            async with conn.begin():
                yield conn
        except BaseException:
            # Rolled back. Whatever failed may have been the connection: the next writer takes
            # one from the pool, which discards a broken one.
            await writer.give_back()
            raise


@asynccontextmanager
async def read(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction: on SQLite it never waits for the writer."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(sqlite_begin="DEFERRED")
        async with conn.begin():
            yield conn
