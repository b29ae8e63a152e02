"""`/api/v1/alerts`: ingest, list, read, stats, status changes and notes."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from alert_handler import db
from alert_handler.api.body import read_limited
from alert_handler.api.deps import ReadKey, RuntimeDep, WriteKey, authenticate
from alert_handler.api.ingest import accept
from alert_handler.api.runtime import Runtime
from alert_handler.api.schemas import (
    AlertDetailOut,
    AlertOut,
    AlertPageOut,
    EventOut,
    IngestBatchOut,
    IngestResultOut,
    NoteIn,
    ResolveIn,
    StatsOut,
    StatusChange,
)
from alert_handler.domain.alert import Status
from alert_handler.domain.matchers import MatcherError, parse_matcher
from alert_handler.domain.severity import Severity, parse_severity
from alert_handler.errors import InvalidInput
from alert_handler.ingest.sources.native import NativeAlert
from alert_handler.security.keys import Scope
from alert_handler.store import alert_reads, alert_updates
from alert_handler.store.alert_reads import AlertFilter, CursorError, SortField

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

_INGEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/NativeAlert"},
                        {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/NativeAlert"},
                            "minItems": 1,
                        },
                    ]
                }
            }
        },
    }
}
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The alert's id")]


@router.post(
    "",
    openapi_extra=_INGEST_BODY,
    response_model=IngestResultOut | IngestBatchOut,
    responses={
        401: {"description": "No valid API key"},
        403: {"description": "The key lacks the ingest scope"},
        413: {"description": "Body too large"},
        422: {"description": "Invalid alert; names the field"},
    },
    summary="Receive one alert or a list of alerts",
)
async def create_alerts(request: Request) -> Response:
    """Validates the whole batch, stores it, and answers only after the commit.

    The answer gives each alert's `id`, `fingerprint`, and `outcome`: `created`, `duplicate`
    (a repeat of an open alert), `reopened` (fired again after it was resolved: a new
    occurrence linked to the previous one) or `resolved`. Needs the `ingest` scope.
    """
    # Served by `api.ingest_door` unless INGEST_FAST_PATH=false; both call `api.ingest.accept`.
    started = time.perf_counter()
    rt: Runtime = request.app.state.runtime
    headers = request.headers
    principal = await authenticate(rt, headers.get("authorization"), headers.get("x-api-key"), Scope.INGEST)
    body = await read_limited(request, rt.settings.ingest_max_body_bytes)
    content = await accept(rt, principal, body)
    rt.metrics.ingest_latency.observe(time.perf_counter() - started)
    return Response(content, media_type="application/json")


def _invalid_query(name: str, why: str) -> InvalidInput:
    """A 422 shaped like every other validation error: `detail` lists `loc`, `msg` and `type`."""
    return InvalidInput([{"loc": ["query", name], "msg": why, "type": "value_error"}])


def _split(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _severities(values: list[str]) -> list[str]:
    out = []
    for name in _split(values):
        severity = parse_severity(name)
        if severity is None:
            raise _invalid_query("severity", f"{name[:50]!r} is not one of {', '.join(Severity)}")
        out.append(severity.value)
    return out


def _statuses(values: list[str]) -> list[str]:
    allowed = {"active", *Status}
    out = _split(values)
    for name in out:
        if name not in allowed:
            raise _invalid_query("status", f"{name[:50]!r} is not one of active, {', '.join(Status)}")
    return out


@router.get("", response_model=AlertPageOut, summary="List alerts with filters")
async def list_alerts(
    rt: RuntimeDep,
    principal: ReadKey,
    status: Annotated[list[str], Query(description="firing, acknowledged, resolved, or active (not resolved)")] = [],  # noqa: B006
    severity: Annotated[list[str], Query(description="critical, high, warning, info (aliases accepted)")] = [],  # noqa: B006
    source: Annotated[list[str], Query(max_length=255)] = [],  # noqa: B006
    tag: Annotated[list[str], Query(description="alerts carrying every tag given")] = [],  # noqa: B006
    label: Annotated[list[str], Query(description='label matchers, e.g. team="db" or instance=~"web-.*"')] = [],  # noqa: B006
    q: Annotated[str | None, Query(max_length=200, description="text in the title or description")] = None,
    fingerprint: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[datetime | None, Query(description="only alerts whose time_field is at or after this")] = None,
    until: Annotated[datetime | None, Query(description="only alerts whose time_field is before this")] = None,
    time_field: Literal["created_at", "last_received_at", "starts_at", "resolved_at"] = "created_at",
    sort: Annotated[
        Literal[
            "created_at",
            "-created_at",
            "last_received_at",
            "-last_received_at",
            "starts_at",
            "-starts_at",
            "resolved_at",
            "-resolved_at",
        ],
        Query(description="field to sort by; '-' for newest first"),
    ] = "-created_at",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    count: Annotated[bool, Query(description="also return the total number of matches")] = True,
) -> AlertPageOut:
    try:
        matchers = [parse_matcher(m) for m in label]
    except MatcherError as exc:
        raise _invalid_query("label", str(exc)) from exc
    flt = AlertFilter(
        tenant=principal.tenant,
        statuses=_statuses(status),
        severities=_severities(severity),
        sources=_split(source),
        tags=_split(tag),
        label_matchers=matchers,
        text=q or None,
        fingerprint=fingerprint,
        time_field=time_field,
        since=_aware(since, "since"),
        until=_aware(until, "until"),
    )
    sort_field: SortField = sort.lstrip("-")  # type: ignore[assignment]
    try:
        async with db.read(rt.engine) as conn:
            page = await alert_reads.list_alerts(
                conn, flt, sort=sort_field, descending=sort.startswith("-"), limit=limit, cursor=cursor,
                with_total=count,
            )  # fmt: skip
    except CursorError as exc:
        raise _invalid_query("cursor", str(exc).removeprefix("cursor: ")) from exc
    return AlertPageOut(
        items=[AlertOut.from_row(r) for r in page.items], total=page.total, next_cursor=page.next_cursor
    )


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise _invalid_query(name, "give a time zone, e.g. 2026-01-01T00:00:00Z")
    if value.year < 1900 or value.year > 9000:
        raise _invalid_query(name, "year out of range")
    return value


@router.get("/stats", response_model=StatsOut, summary="Counts, MTTA and MTTR over a window")
async def stats(
    rt: RuntimeDep,
    principal: ReadKey,
    since: Annotated[datetime | None, Query(description="window start (default: 24 hours ago)")] = None,
    until: Annotated[datetime | None, Query(description="window end (default: now)")] = None,
) -> StatsOut:
    end = _aware(until, "until") or rt.clock()
    start = _aware(since, "since") or end - timedelta(hours=24)
    if start >= end:
        raise _invalid_query("since", "must be before until")
    async with db.read(rt.engine) as conn:
        figures = await alert_reads.stats(conn, principal.tenant, start, end)
    return StatsOut(since=start, until=end, **figures)


async def _detail(rt: RuntimeDep, tenant: str, alert_id: int) -> AlertDetailOut:
    async with db.read(rt.engine) as conn:
        row = await alert_reads.get_alert(conn, tenant, alert_id)
        if row is None:
            raise HTTPException(404, f"alert {alert_id} not found")
        events = await alert_reads.timeline(conn, row)
    return AlertDetailOut(**AlertOut.from_row(row).model_dump(), timeline=[EventOut.model_validate(e) for e in events])


@router.get(
    "/{alert_id}",
    response_model=AlertDetailOut,
    responses={404: {"description": "No such alert"}},
    summary="One alert with its timeline",
)
async def get_alert(alert_id: AlertId, rt: RuntimeDep, principal: ReadKey) -> AlertDetailOut:
    return await _detail(rt, principal.tenant, alert_id)


async def _change_status(
    rt: RuntimeDep, principal: WriteKey, alert_id: int, target: Status, note: str | None
) -> AlertDetailOut:
    async with db.write(rt.engine) as conn:
        outcome = await alert_updates.change_status(
            conn, tenant=principal.tenant, alert_id=alert_id, target=target, actor=principal.actor,
            note=note, now=rt.clock(),
        )  # fmt: skip
    if not outcome.found:
        raise HTTPException(404, f"alert {alert_id} not found")
    if outcome.refused:
        raise HTTPException(409, outcome.refused)
    rt.worker.wake([alert_id])
    return await _detail(rt, principal.tenant, alert_id)


_CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such alert"},
    409: {"description": "The change is not allowed from the alert's status; says why"},
}


@router.put("/{alert_id}/status", response_model=AlertDetailOut, responses=_CHANGE_RESPONSES)
async def update_status(alert_id: AlertId, change: StatusChange, rt: RuntimeDep, principal: WriteKey) -> AlertDetailOut:
    """Set the status: `acknowledged`, `resolved` (with an optional `resolution_note`) or back to `firing`."""
    return await _change_status(rt, principal, alert_id, change.status, change.resolution_note)


@router.post("/{alert_id}/acknowledge", response_model=AlertDetailOut, responses=_CHANGE_RESPONSES)
async def acknowledge(alert_id: AlertId, rt: RuntimeDep, principal: WriteKey) -> AlertDetailOut:
    return await _change_status(rt, principal, alert_id, Status.ACKNOWLEDGED, None)


@router.post("/{alert_id}/resolve", response_model=AlertDetailOut, responses=_CHANGE_RESPONSES)
async def resolve(
    alert_id: AlertId, rt: RuntimeDep, principal: WriteKey, body: ResolveIn | None = None
) -> AlertDetailOut:
    return await _change_status(rt, principal, alert_id, Status.RESOLVED, body.resolution_note if body else None)


@router.post("/{alert_id}/notes", response_model=AlertDetailOut, responses={404: {"description": "No such alert"}})
async def add_note(alert_id: AlertId, note: NoteIn, rt: RuntimeDep, principal: WriteKey) -> AlertDetailOut:
    async with db.write(rt.engine) as conn:
        outcome = await alert_updates.add_note(
            conn,
            tenant=principal.tenant,
            alert_id=alert_id,
            actor=principal.actor,
            text=note.text,
            now=rt.clock(),
        )
    if not outcome.found:
        raise HTTPException(404, f"alert {alert_id} not found")
    return await _detail(rt, principal.tenant, alert_id)


__all__ = ["NativeAlert", "router"]
