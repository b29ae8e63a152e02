"""`RowsUpdate` on every backend: one row (a plain UPDATE) and several (one statement on
PostgreSQL) store the same values, JSON null included."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler import db
from alert_handler.store.rows_update import SET_WISE_FROM, RowsUpdate
from alert_handler.store.tables import alerts_table
from tests.store.test_alert_writes import T0, alert, store

_UPDATE = RowsUpdate(
    alerts_table,
    {"_team": "team", "_explanation": "explanation", "_due": "escalation_due_at", "_step": "escalation_step"},
    {"pending_since": None},
)


async def test_one_row_and_many_rows_store_the_same(engine: AsyncEngine) -> None:
    stored = await store(engine, [alert(f"fp-{i}") for i in range(SET_WISE_FROM + 2)])
    single, many = stored[:1], stored[1:]

    def values(i: int) -> dict[str, object]:
        return {
            "_team": f"team-{i}", "_explanation": None if i % 2 else {"routes": [{"receiver": "ops", "n": i}]},
            "_due": T0 + timedelta(minutes=i), "_step": i,
        }  # fmt: skip

    async with db.write(engine) as conn:
        await _UPDATE.execute(conn, [{"_id": r.id, **values(r.id)} for r in single])
        await _UPDATE.execute(conn, [{"_id": r.id, **values(r.id)} for r in many])
        await _UPDATE.execute(conn, [])

    async with db.read(engine) as conn:
        rows = (await conn.execute(select(alerts_table).order_by(alerts_table.c.id))).mappings().all()
        null_json = {
            r.id for r in await conn.execute(select(alerts_table.c.id).where(alerts_table.c.explanation.is_(None)))
        }
    for row in rows:
        expected = values(row["id"])
        assert (row["team"], row["explanation"]) == (expected["_team"], expected["_explanation"])
        assert (row["escalation_due_at"], row["escalation_step"]) == (expected["_due"], expected["_step"])
        assert row["pending_since"] is None
    # Both forms keep None as the same thing (JSON null where the column type does so).
    assert null_json in (set(), {r["id"] for r in rows if r["id"] % 2})
