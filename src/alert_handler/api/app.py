"""The FastAPI app factory. Nothing runs at import: `create_app(settings)` builds everything."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from loguru import logger
from sqlalchemy.exc import SQLAlchemyError

from alert_handler import __version__, sqlite_checkpoint
from alert_handler.api import config_reload
from alert_handler.api.answers import error_answer
from alert_handler.api.auth import KeyCache
from alert_handler.api.ingest_door import IngestFastPath
from alert_handler.api.routes import (
    alertmanager_v2,
    alerts,
    api_keys,
    config,
    explain,
    health,
    heartbeats,
    notifications,
    receivers,
    silences,
    webhooks,
)
from alert_handler.api.runtime import Runtime
from alert_handler.db import create_engine
from alert_handler.errors import InvalidInput, StorageUnavailable, summarize
from alert_handler.ingest.sources.native import NativeAlert
from alert_handler.ingest.writer import Clock, IngestWriter, utcnow
from alert_handler.metrics import Metrics
from alert_handler.processing.channel_pool import ChannelPool
from alert_handler.processing.pipeline import Pipeline, limits_from
from alert_handler.settings import Settings
from alert_handler.worker.modes import worker_for

DESCRIPTION = """
Receives alerts, de-duplicates them, and keeps their history.

Authenticate with an API key: `Authorization: Bearer <key>` (or `X-API-Key: <key>`).
Scopes: `ingest` (send alerts), `read`, `write` (acknowledge, resolve, notes, silences), `admin`.
"""


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url, pool_size=settings.database_pool_size, echo=settings.database_echo
        )
        metrics = Metrics()
        writer = IngestWriter(
            engine, metrics, max_alerts=settings.ingest_commit_max_alerts, writers=settings.effective_writers,
            linger=settings.ingest_commit_linger_ms / 1000, clock=clock,
        )  # fmt: skip
        try:
            live = await config_reload.start(settings, engine, clock)
        except BaseException:
            await engine.dispose()
            raise
        metrics.watch_config(live)
        pipeline = Pipeline(
            engine, lambda: live.current, ChannelPool(), clock, limits_from(settings),
            external_url=settings.public_url, stats=metrics,
        )  # fmt: skip
        worker = worker_for(settings, pipeline, ingest_backlog=lambda: writer.backlog)
        writer.on_commit = lambda results: worker.wake([r.id for r in results])
        await writer.start()
        await worker.start()
        # Everything made so far lives as long as the process: keep it out of the collector's
        # full passes, which otherwise rescan it all and show up as latency spikes under load.
        gc.collect()
        gc.freeze()
        app.state.runtime = Runtime(
            settings,
            engine,
            writer,
            metrics,
            KeyCache(engine, settings.api_key_cache_seconds),
            clock,
            live,
            worker,
            pipeline,
        )
        logger.info("alert-handler {} ready on {} ({})", __version__, engine.dialect.name, engine.url.database)
        try:
            async with (
                config_reload.kept_current(live, engine, settings.config_refresh_seconds),
                sqlite_checkpoint.checkpointing(engine),
            ):
                yield
        finally:
            await writer.stop()
            await worker.stop()
            await pipeline.channels.close()
            await engine.dispose()

    app = FastAPI(
        title="alert-handler",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url="/redoc",
    )
    app.include_router(alerts.router)
    app.include_router(explain.router)
    app.include_router(notifications.router)
    app.include_router(receivers.router)
    app.include_router(silences.router)
    app.include_router(webhooks.router)
    app.include_router(heartbeats.router)
    app.include_router(api_keys.router)
    app.include_router(health.router)
    app.include_router(config.router)
    app.include_router(config.reload_router)
    app.include_router(alertmanager_v2.router)
    if settings.ingest_fast_path:
        app.add_middleware(IngestFastPath)
    _install_error_handlers(app)
    _install_openapi(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    async def answer(request: Request, exc: Exception) -> JSONResponse:
        runtime = getattr(request.app.state, "runtime", None)
        found = error_answer(exc, runtime.metrics if runtime else None, f"{request.method} {request.url.path}")
        if found is None:
            raise exc
        status, body, headers = found
        return JSONResponse(body, status_code=status, headers=headers)

    for handled in (InvalidInput, StorageUnavailable, SQLAlchemyError, OSError):
        app.add_exception_handler(handled, answer)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        if request.url.path.startswith(alertmanager_v2.PREFIX + "/"):  # Alertmanager's answer: 400, a string
            return JSONResponse(summarize(errors), status_code=400)
        return JSONResponse({"detail": errors, "message": summarize(errors)}, status_code=422)


def _install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        native = NativeAlert.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(native.pop("$defs", {}))
        components["NativeAlert"] = native
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        schema["security"] = [{"bearer": []}, {"apiKey": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
