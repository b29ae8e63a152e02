"""`/api/v1/heartbeats`: a beat says "still alive"; a heartbeat whose last beat is older than its
timeout fires an alert (the scheduler's tick checks), and the next beat resolves it.

`POST /api/v1/heartbeats/{name}` takes the timeout and severity from the query or from a JSON
object body; any other body (such as Alertmanager's webhook for the Watchdog alert) is ignored.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from alert_handler import db
from alert_handler.api.body import read_limited
from alert_handler.api.deps import IngestKey, ReadKey, RuntimeDep, WriteKey
from alert_handler.domain import heartbeat
from alert_handler.domain.severity import Severity, parse_severity
from alert_handler.errors import InvalidInput
from alert_handler.routing.durations import DurationError, format_duration, parse_duration
from alert_handler.store import heartbeats

router = APIRouter(prefix="/api/v1/heartbeats", tags=["heartbeats"])

NamePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$", description="The heartbeat's name")]


class HeartbeatOut(BaseModel):
    name: str
    timeout: str = Field(description="Beats are expected at least this often, e.g. 5m")
    severity: Severity
    last_beat_at: datetime
    expires_at: datetime = Field(description="When the alert fires if no beat comes first")
    status: Literal["ok", "missing"]
    alerting_since: datetime | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any], now: datetime) -> HeartbeatOut:
        missing = row["alerting_since"] is not None or row["expires_at"] <= now
        return cls(
            name=row["name"], timeout=format_duration(timedelta(seconds=row["timeout_seconds"])),
            severity=Severity(row["severity"]), last_beat_at=row["last_beat_at"], expires_at=row["expires_at"],
            status="missing" if missing else "ok", alerting_since=row["alerting_since"],
        )  # fmt: skip


class BeatOut(HeartbeatOut):
    created: bool = Field(description="This was the heartbeat's first beat")
    resolved_alert_id: int | None = Field(None, description="The missing-heartbeat alert this beat resolved")


def _invalid(loc: list[str], message: str) -> InvalidInput:
    return InvalidInput([{"loc": loc, "msg": message, "type": "value_error"}])


def _timeout(value: object, loc: list[str]) -> timedelta:
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            found = timedelta(seconds=value)
        elif isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
            found = timedelta(seconds=float(value))
        elif isinstance(value, str):
            found = parse_duration(value.strip())
        else:
            raise _invalid(loc, "give a duration such as 90s, 5m or 1h, or a number of seconds")
    except (DurationError, OverflowError, ValueError) as exc:
        raise _invalid(loc, f"{str(value)[:50]!r} is not a duration: {exc}") from None
    if not heartbeat.MIN_TIMEOUT <= found <= heartbeat.MAX_TIMEOUT:
        raise _invalid(loc, "must be between 1s and 30d")
    return found


def _severity(value: object, loc: list[str]) -> Severity:
    found = parse_severity(value) if isinstance(value, str) else None
    if found is None:
        raise _invalid(loc, f"{str(value)[:50]!r} is not a severity: use critical, high, warning or info")
    return found


def _from_body(raw: bytes) -> dict[str, Any]:
    """Our own fields from a JSON object body; anything else is a sender's payload and ignored."""
    try:
        body = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        return {}
    return {k: body[k] for k in ("timeout", "severity") if k in body} if isinstance(body, dict) else {}


@router.post(
    "/{name}",
    response_model=BeatOut,
    responses={
        201: {"model": BeatOut, "description": "The first beat: the heartbeat was created"},
        401: {"description": "No valid API key"},
        403: {"description": "The key lacks the ingest scope"},
        413: {"description": "Body too large"},
        422: {"description": "Invalid timeout or severity; names the field"},
    },
    openapi_extra={"requestBody": {"required": False, "content": {"application/json": {"schema": {}}}}},
    summary="Record a heartbeat",
)
async def beat(
    name: NamePath,
    request: Request,
    rt: RuntimeDep,
    principal: IngestKey,
    timeout: Annotated[  # noqa: ASYNC109 - the heartbeat's timeout, not this call's
        str | None, Query(max_length=32, description="e.g. 5m (default: as before, else 5m)")
    ] = None,
    severity: Annotated[str | None, Query(max_length=32, description="of the alert (default critical)")] = None,
) -> Response:
    """Beats are expected at least every `timeout`; when one is late the alert
    `Heartbeat <name> missing` fires (dedup key `heartbeat:<name>`), and the next beat resolves it."""
    given = _from_body(await read_limited(request, rt.settings.ingest_max_body_bytes))
    window = None
    if timeout is not None:
        window = _timeout(timeout, ["query", "timeout"])
    elif "timeout" in given:
        window = _timeout(given["timeout"], ["body", "timeout"])
    level = None
    if severity is not None:
        level = _severity(severity, ["query", "severity"])
    elif "severity" in given:
        level = _severity(given["severity"], ["body", "severity"])
    now = rt.clock()
    for attempt in (1, 2):
        try:
            async with db.write(rt.engine) as conn:
                done = await heartbeats.beat(
                    conn, tenant=principal.tenant, name=name, window=window, severity=level,
                    actor=principal.actor, now=now,
                )  # fmt: skip
            break
        except IntegrityError:  # a concurrent first beat created it: this one updates it
            if attempt == 2:
                raise
    if done.resolved is not None:
        rt.worker.wake([done.resolved.id])
    out = BeatOut(
        **HeartbeatOut.from_row(done.row, now).model_dump(),
        created=done.created,
        resolved_alert_id=done.resolved.id if done.resolved else None,
    )
    return Response(out.model_dump_json(), status_code=201 if done.created else 200, media_type="application/json")


@router.get("", response_model=list[HeartbeatOut], summary="Every heartbeat, with its status")
async def list_heartbeats(rt: RuntimeDep, principal: ReadKey) -> list[HeartbeatOut]:
    now = rt.clock()
    async with db.read(rt.engine) as conn:
        rows = await heartbeats.list_all(conn, principal.tenant)
    return [HeartbeatOut.from_row(r, now) for r in rows]


@router.delete(
    "/{name}", status_code=204, responses={404: {"description": "No heartbeat of that name"}}, summary="Stop watching"
)
async def delete_heartbeat(name: NamePath, rt: RuntimeDep, principal: WriteKey) -> None:
    """Forget the heartbeat; its alert, if it fires, is resolved."""
    async with db.write(rt.engine) as conn:
        found = await heartbeats.remove(conn, tenant=principal.tenant, name=name, actor=principal.actor, now=rt.clock())
    if found is False:
        raise HTTPException(404, f"no heartbeat named {name!r}")
    if not isinstance(found, bool):
        rt.worker.wake([found.id])
