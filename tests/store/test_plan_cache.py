"""Which PostgreSQL connections keep custom plans: the API's (ingest arrays, list filters) do,
a Celery worker's (processing statements, cheaper with generic plans) do not."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from alert_handler.db import create_engine
from alert_handler.settings import get_settings
from alert_handler.worker.context import WorkerContext


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_only_the_api_forces_custom_plans(database_url: str) -> None:
    modes = {}
    for custom_plans in (True, False):
        engine = create_engine(database_url, custom_plans=custom_plans)
        try:
            async with engine.connect() as conn:
                modes[custom_plans] = (await conn.execute(text("SHOW plan_cache_mode"))).scalar()
        finally:
            await engine.dispose()
    assert modes == {True: "force_custom_plan", False: "auto"}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_celery_worker_reuses_generic_plans(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        context = WorkerContext.create()  # runs its own event loop, as in a worker process
    finally:
        get_settings.cache_clear()

    async def mode() -> object:
        async with context.pipeline.engine.connect() as conn:
            return (await conn.execute(text("SHOW plan_cache_mode"))).scalar()

    try:
        assert context.run(mode()) == "auto"
    finally:
        context.run(context.pipeline.engine.dispose())
        context.loop.close()
