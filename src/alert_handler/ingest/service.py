"""Ingest: parse and validate a whole batch, normalize it, and hand it to the writer.

Nothing is written unless every alert of the request is valid; the answer comes after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from alert_handler.domain.alert import IncomingAlert, IngestResult
from alert_handler.errors import InvalidInput
from alert_handler.ingest.sources.native import NativeAlert
from alert_handler.ingest.writer import IngestWriter
from alert_handler.metrics import Metrics

_NATIVE_LIST = TypeAdapter(list[NativeAlert])


def _errors(exc: ValidationError, prefix: tuple[Any, ...]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = error["loc"]
        if error["type"] == "json_invalid":
            loc = ()
        out.append({"loc": ["body", *prefix, *loc], "msg": error["msg"], "type": error["type"]})
    return out


def parse_native(body: bytes, *, max_batch: int) -> list[NativeAlert]:
    """One alert object or a list of them, validated as a whole."""
    start = body.lstrip()[:1]
    context = {"nul_free": b"\\u0000" not in body}
    try:
        if start == b"[":
            parsed = _NATIVE_LIST.validate_json(body, context=context)
            if not parsed:
                raise InvalidInput([{"loc": ["body"], "msg": "the list of alerts is empty", "type": "too_short"}])
            if len(parsed) > max_batch:
                raise InvalidInput(
                    [{"loc": ["body"], "msg": f"at most {max_batch} alerts per request", "type": "too_long"}]
                )
            return parsed
        return [NativeAlert.model_validate_json(body, context=context)]
    except ValidationError as exc:
        raise InvalidInput(_errors(exc, ())) from exc


def normalize(
    parsed: Sequence[NativeAlert], *, tenant: str, identity_keys: list[str], actor: str, now: datetime
) -> list[IncomingAlert]:
    return [a.normalize(tenant=tenant, identity_keys=identity_keys, actor=actor, now=now) for a in parsed]


async def ingest(writer: IngestWriter, metrics: Metrics, alerts: Sequence[IncomingAlert]) -> list[IngestResult]:
    """Store the alerts; returns once they are committed."""
    results = await writer.submit(alerts)
    counter = metrics.alerts_received
    for alert, result in zip(alerts, results, strict=True):
        counter.labels(metrics.source_label(alert.source), alert.severity.value, result.outcome.value).inc()
    return results
