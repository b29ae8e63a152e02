"""Accepting native alerts: what both doors to `POST /api/v1/alerts` do once the caller is known."""

from __future__ import annotations

from typing import Any

import orjson

from alert_handler.api.auth import Principal
from alert_handler.api.runtime import Runtime
from alert_handler.domain.alert import IngestResult
from alert_handler.ingest import service

INGEST_PATH = "/api/v1/alerts"


def _result(result: IngestResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "fingerprint": result.fingerprint,
        "outcome": result.outcome.value,
        "status": result.status.value,
    }


async def accept(rt: Runtime, principal: Principal, body: bytes) -> bytes:
    """Validate, store and answer (JSON): one result for one alert, `count` and `results` for a list."""
    settings = rt.settings
    parsed = service.parse_native(body, max_batch=settings.ingest_max_batch)
    alerts = service.normalize(
        parsed,
        tenant=principal.tenant,
        identity_keys=settings.fingerprint_metadata_keys,
        actor=principal.actor,
        now=rt.clock(),
    )
    results = await service.ingest(rt.writer, rt.metrics, alerts)
    if body.lstrip()[:1] == b"[":
        return orjson.dumps({"count": len(results), "results": [_result(r) for r in results]})
    return orjson.dumps(_result(results[0]))
