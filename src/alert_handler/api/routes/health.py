"""Liveness, database and Redis checks, and Prometheus metrics. No API key needed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from loguru import logger
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from alert_handler import db
from alert_handler.api.deps import RuntimeDep
from alert_handler.api.schemas import HealthOut
from alert_handler.store import alert_reads, silences
from alert_handler.store import notifications as notification_store
from alert_handler.store.notifications import NotificationStatus

router = APIRouter(tags=["operations"])
_UNHEALTHY: dict[int | str, dict[str, Any]] = {
    503: {"model": HealthOut, "description": "The dependency does not answer"}
}


@router.get("/health", response_model=HealthOut, summary="Liveness: the process answers")
async def health() -> HealthOut:
    return HealthOut(status="ok")


@router.get("/health/db", response_model=HealthOut, responses=_UNHEALTHY, summary="The database answers a query")
async def health_db(rt: RuntimeDep) -> Response:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(5):
            async with db.read(rt.engine) as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        rt.metrics.database_errors.labels("health").inc()
        logger.warning("database health check failed: {}", type(exc).__name__)
        return JSONResponse(
            HealthOut(status="error", detail=f"database unreachable ({type(exc).__name__})").model_dump(),
            status_code=503,
        )
    latency = round((time.perf_counter() - started) * 1000, 2)
    return JSONResponse(HealthOut(status="ok", detail=rt.engine.dialect.name, latency_ms=latency).model_dump())


@router.get("/health/redis", response_model=HealthOut, responses=_UNHEALTHY, summary="Redis answers a PING")
async def health_redis(rt: RuntimeDep) -> Response:
    if not rt.settings.redis_url:
        return JSONResponse(HealthOut(status="not configured", detail="embedded mode: no REDIS_URL set").model_dump())
    from redis.asyncio import Redis

    client = Redis.from_url(rt.settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    started = time.perf_counter()
    try:
        await client.ping()
    except Exception as exc:
        return JSONResponse(
            HealthOut(status="error", detail=f"redis unreachable ({type(exc).__name__})").model_dump(),
            status_code=503,
        )
    finally:
        await client.aclose()
    latency = round((time.perf_counter() - started) * 1000, 2)
    return JSONResponse(HealthOut(status="ok", latency_ms=latency).model_dump())


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(rt: RuntimeDep) -> Response:
    try:
        async with db.read(rt.engine) as conn:
            counts = await alert_reads.open_counts_by_severity(conn)
            outbox = await notification_store.counts(conn)
            backlog, oldest = await alert_reads.processing_backlog(conn)
            silence_counts = await silences.counts_by_state(conn, rt.clock())
    except Exception:
        rt.metrics.database_errors.labels("metrics").inc()
    else:
        for severity in ("critical", "high", "warning", "info"):
            rt.metrics.open_alerts.labels(severity).set(counts.get(severity, 0))
        for status in NotificationStatus:
            rt.metrics.notifications.labels(status.value).set(outbox.get(status.value, 0))
        rt.metrics.processing_backlog.set(backlog)
        rt.metrics.processing_oldest.set((rt.clock() - oldest).total_seconds() if oldest else 0.0)
        for state, n in silence_counts.items():
            rt.metrics.silences.labels(state.value).set(n)
    return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)
