"""Migrations build exactly the schema `tables.py` declares, on every backend, both ways."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from alert_handler.db import create_engine
from alert_handler.store.migrate import MIGRATIONS, alembic_config, current_revision, head_revision, upgrade
from alert_handler.store.tables import Base, include_in_dialect

APP_TABLES = {"alerts", "alert_events", "api_keys"}


def _include_object(dialect: str) -> Any:
    """The same filter as migrations/env.py: PostgreSQL-only indexes are not expected elsewhere."""

    def include(obj: Any, _name: str | None, type_: str, _reflected: bool, _compare_to: Any) -> bool:
        return type_ != "index" or include_in_dialect(obj, dialect)

    return include


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"include_object": _include_object(connection.dialect.name), "compare_type": True},
    )
    return list(compare_metadata(context, Base.metadata))


def _state(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    return {
        "tables": set(inspector.get_table_names()),
        "revision": current_revision(connection),
        "differences": _differences(connection),
        "alerts_indexes": {ix["name"] for ix in inspector.get_indexes("alerts")}
        if inspector.has_table("alerts")
        else set(),
    }


async def _inspect(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_state)
    finally:
        await engine.dispose()


def test_the_script_directory_has_exactly_one_head() -> None:
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}; merge them"
    assert head_revision() == heads[0]


def test_upgrade_on_an_empty_database_matches_the_models(backend: str, empty_database_url: str) -> None:
    before = asyncio.run(_inspect(empty_database_url))
    assert not (before["tables"] & APP_TABLES)
    assert before["revision"] is None

    upgrade(empty_database_url)

    after = asyncio.run(_inspect(empty_database_url))
    assert APP_TABLES <= after["tables"]
    assert after["revision"] == head_revision()
    assert after["differences"] == [], f"models and migrations disagree on {backend}"
    gin = {"ix_alerts_labels_gin", "ix_alerts_tags_gin"}
    if backend == "postgresql":
        assert gin <= after["alerts_indexes"]
    else:
        assert not (gin & after["alerts_indexes"])
    assert "ix_alerts_fingerprint_tenant" in after["alerts_indexes"]


def test_upgrade_twice_is_a_no_op(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)
    state = asyncio.run(_inspect(empty_database_url))
    assert state["revision"] == head_revision()
    assert state["differences"] == []


def test_downgrade_to_base_then_upgrade_again(backend: str, empty_database_url: str) -> None:
    upgrade(empty_database_url)
    command.downgrade(alembic_config(empty_database_url), "base")

    down = asyncio.run(_inspect(empty_database_url))
    assert not (down["tables"] & APP_TABLES), f"downgrade left tables behind on {backend}"
    assert down["revision"] is None

    upgrade(empty_database_url)
    again = asyncio.run(_inspect(empty_database_url))
    assert APP_TABLES <= again["tables"]
    assert again["revision"] == head_revision()
    assert again["differences"] == []


def test_the_compare_catches_a_schema_drift(backend: str, empty_database_url: str) -> None:
    """The no-difference check above is only worth something if a real drift shows up."""
    upgrade(empty_database_url)

    async def drift() -> list[Any]:
        engine = create_engine(empty_database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("DROP INDEX ix_alerts_status_id" + (" ON alerts" if backend == "mysql" else ""))
                )
            async with engine.connect() as conn:
                return await conn.run_sync(_differences)
        finally:
            await engine.dispose()

    differences = asyncio.run(drift())
    assert [d[0] for d in differences] == ["add_index"]
    assert differences[0][1].name == "ix_alerts_status_id"


def test_sqlite_connections_use_wal_and_foreign_keys(sqlite_url: str) -> None:
    async def pragmas() -> tuple[str, int]:
        engine = create_engine(sqlite_url)
        try:
            async with engine.connect() as conn:
                journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
                foreign_keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
                return str(journal), int(foreign_keys)
        finally:
            await engine.dispose()

    journal, foreign_keys = asyncio.run(pragmas())
    assert journal.lower() == "wal"
    assert foreign_keys == 1
