"""Whether alerts are still owed processing: the cheap question a Celery task asks first.

A task takes every owed alert it can, so the tasks queued behind it often find their alerts
done. Asking costs one indexed read, where a processing run costs a transaction; on PostgreSQL
the read goes straight to the pooled driver connection, outside any transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler import db
from alert_handler.store.tables import alerts_table as alerts

_ANY_OWED_PG = "SELECT EXISTS (SELECT 1 FROM alerts WHERE id = ANY($1::bigint[]) AND pending_since IS NOT NULL)"


async def any_owed(engine: AsyncEngine, ids: Sequence[int]) -> bool:
    """True when one of these alerts still waits for processing."""
    if not ids:
        return False
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            return bool(await driver.fetchval(_ANY_OWED_PG, list(ids)))
    async with db.read(engine) as conn:
        return bool((await conn.execute(_any_owed(), {"ids": list(ids)})).scalar())


@functools.cache
def _any_owed() -> Select[tuple[bool]]:
    owed = alerts.c.id.in_(bindparam("ids", expanding=True)) & alerts.c.pending_since.is_not(None)
    return select(exists().where(owed))
