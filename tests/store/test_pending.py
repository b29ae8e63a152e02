"""`any_owed` on every backend: the read a Celery task makes before processing anything."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler import db
from alert_handler.store.pending import any_owed
from alert_handler.store.tables import alerts_table
from tests.store.test_alert_writes import alert, store


async def test_any_owed_answers_for_the_alerts_named(engine: AsyncEngine) -> None:
    first, second = await store(engine, [alert("fp-1"), alert("fp-2")])
    assert await any_owed(engine, [first.id])
    assert await any_owed(engine, [first.id, second.id])

    async with db.write(engine) as conn:  # as processing leaves an alert it finished
        await conn.execute(update(alerts_table).where(alerts_table.c.id == first.id).values(pending_since=None))

    assert not await any_owed(engine, [first.id])
    assert await any_owed(engine, [first.id, second.id])
    assert not await any_owed(engine, [second.id + 1000])
    assert not await any_owed(engine, [])
