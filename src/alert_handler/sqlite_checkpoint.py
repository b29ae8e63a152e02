"""WAL checkpoints of a SQLite file, off the event loop.

Statements run on the loop's own thread (sqlite_inline.py), and SQLite checkpoints the WAL at
the commit that takes it past `wal_autocheckpoint` pages (1,000 by default: about a second of
writes at 100 alerts/s), stalling the loop for 5-10 ms. End to end at 100 alerts/s that was the
p99: 12.7-15.0 ms with those checkpoints, 9.5 ms without. So the engine's connections leave
checkpoints to this task, which runs one every second on a connection of its own, in a thread
(PASSIVE: it waits for no reader or writer). They keep a far larger limit as a safety net, in
case this task falls behind or is not running (a CLI command).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from loguru import logger
from sqlalchemy.ext.asyncio import AsyncEngine

SAFETY_NET_PAGES = 10_000  # about 40 MB of WAL


class Checkpointer:
    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self.last: tuple[int, int, int] | None = None  # (busy, pages in the WAL, pages checkpointed)

    def run(self) -> tuple[int, int, int]:
        """One passive checkpoint (blocking: call it in a thread)."""
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        busy, pages, done = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.last = (int(busy), int(pages), int(done))
        return self.last

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@asynccontextmanager
async def checkpointing(engine: AsyncEngine, every: float = 1.0) -> AsyncIterator[Checkpointer | None]:
    """While inside, checkpoint the engine's SQLite file every `every` seconds (nothing for other
    databases)."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        yield None
        return
    checkpointer = Checkpointer(path)
    task = asyncio.create_task(_checkpoint_loop(checkpointer, every), name="sqlite-checkpoint")
    try:
        yield checkpointer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        checkpointer.close()


async def _checkpoint_loop(checkpointer: Checkpointer, every: float) -> None:
    failing = False
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(checkpointer.run)
        except sqlite3.Error as exc:
            if not failing:
                logger.warning("WAL checkpoint failed ({}); SQLite checkpoints at commits meanwhile", exc)
            failing = True
        else:
            if failing:
                logger.info("WAL checkpoints work again")
            failing = False
