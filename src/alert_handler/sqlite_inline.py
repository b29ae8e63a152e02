"""SQLite connections that run each statement on the event loop's own thread.

aiosqlite hands every call (cursor, execute, fetch, close: four per statement) to a thread and
back; for SQLite's microsecond statements that hand-off is most of the cost (measured: 37 % of
the CPU per processed alert). In WAL mode with `synchronous=NORMAL` a commit does not wait for
the disk, writers of this process queue on `db.write`'s lock rather than in SQLite, and readers
never wait for the writer, so a statement blocks the loop only for as long as SQLite computes.
What can still block: another process holding the write lock (the busy timeout, kept short) and
a WAL checkpoint (every ~4 MB written).

SQLAlchemy's aiosqlite dialect drives these through aiosqlite's own interface: `_execute` runs
the call at once, and `_tx` (which the dialect uses directly to set the isolation level) is a
queue that does the same.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import aiosqlite


class _RunAtOnce:
    """Stands in for aiosqlite's queue to its thread: runs each item when it is put."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as aiosqlite's thread does
            if future is not None:
                future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=256)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def begin(self, mode: str) -> None:
        """`BEGIN <mode>` at once (SQLAlchemy's begin hook calls it: no statement round for it)."""
        if self._connection is None:
            raise ValueError("Connection closed")
        self._connection.execute(f"BEGIN {mode}")

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def connector(database: str) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for SQLAlchemy: a new inline connection to `database`."""

    async def connect() -> InlineConnection:
        return await InlineConnection(lambda: sqlite3.connect(database, check_same_thread=False))

    return connect
