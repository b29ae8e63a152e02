"""WAL checkpoints of a SQLite file run off the event loop, on a connection of their own."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text

from alert_handler.db import create_engine
from alert_handler.sqlite_checkpoint import SAFETY_NET_PAGES, checkpointing
from tests.conftest import Api


async def test_a_running_checkpointer_checkpoints_what_the_engine_wrote(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            # The engine's own connections would checkpoint only past the safety net.
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == SAFETY_NET_PAGES
        async with checkpointing(engine, every=0.05) as checkpointer:
            assert checkpointer is not None
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE filler (body TEXT)"))
                for _ in range(50):
                    await conn.execute(text("INSERT INTO filler VALUES (:b)"), {"b": "x" * 8000})
            started = time.monotonic()
            while not (checkpointer.last and checkpointer.last[1] > 0 and checkpointer.last[2] == checkpointer.last[1]):
                assert time.monotonic() - started < 5, f"no complete checkpoint: {checkpointer.last}"
                await asyncio.sleep(0.02)
    finally:
        await engine.dispose()


async def test_other_databases_get_no_checkpointer() -> None:
    engine = create_engine("sqlite:///:memory:")
    try:
        async with checkpointing(engine) as checkpointer:
            assert checkpointer is None
    finally:
        await engine.dispose()


async def test_the_api_checkpoints_its_sqlite_file(sqlite_api: Api) -> None:
    assert any(task.get_name() == "sqlite-checkpoint" for task in asyncio.all_tasks())
