"""`/api/v2/alerts` and `/api/v2/alerts/groups`, as Alertmanager answers them."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from alert_handler import db
from alert_handler.api.alertmanager.schemas import ERROR, AlertGroup, GettableAlert, Receiver, error
from alert_handler.api.alertmanager.views import AlertFilter, FilterError, gettable
from alert_handler.api.body import read_limited
from alert_handler.api.deps import IngestKey, ReadKey, RuntimeDep
from alert_handler.errors import InvalidInput
from alert_handler.ingest import service
from alert_handler.ingest.sources.alertmanager_api import PostableAlert, parse_postable
from alert_handler.store import alertmanager_reads

router = APIRouter()

_POSTABLE_ALERTS: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": PostableAlert.model_json_schema(by_alias=True)},
            }
        },
    }
}
_BAD_REQUEST: dict[int | str, dict[str, Any]] = {400: {"description": "Bad request; says why", **ERROR}}

Filter = Annotated[
    list[str], Query(max_length=64, description='Matchers the labels must satisfy, e.g. filter=alertname="X"')
]
Receiver_ = Annotated[str | None, Query(max_length=1024, description="A regular expression a receiver must match")]
Flag = Annotated[bool, Query()]


@router.post(
    "/alerts",
    response_class=Response,
    responses={200: {"description": "Ok"}, **_BAD_REQUEST},
    openapi_extra=_POSTABLE_ALERTS,
    summary="Send alerts (Alertmanager API v2)",
)
async def post_alerts(request: Request, rt: RuntimeDep, principal: IngestKey) -> Response:
    """Labels are the identity; a repeat extends the alert. A missing `endsAt` is now plus
    RESOLVE_TIMEOUT_SECONDS; an `endsAt` in the past resolves. Needs the `ingest` scope."""
    body = await read_limited(request, rt.settings.ingest_max_body_bytes)
    try:
        parsed = parse_postable(body, max_batch=rt.settings.ingest_max_batch)
    except InvalidInput as exc:
        return error(400, str(exc))
    if parsed:
        now = rt.clock()
        timeout = timedelta(seconds=rt.settings.resolve_timeout_seconds)
        alerts = [
            a.normalize(tenant=principal.tenant, actor=principal.actor, now=now, resolve_timeout=timeout)
            for a in parsed
        ]
        await service.ingest(rt.writer, rt.metrics, alerts)
    return Response(status_code=200)


@router.get(
    "/alerts",
    response_model=list[GettableAlert],
    response_model_exclude_none=True,
    responses=_BAD_REQUEST,
    summary="Alerts (Alertmanager API v2)",
)
async def get_alerts(
    rt: RuntimeDep,
    principal: ReadKey,
    filter: Filter = [],  # noqa: B006 - Alertmanager's parameter name
    receiver: Receiver_ = None,
    active: Flag = True,
    silenced: Flag = True,
    inhibited: Flag = True,
    unprocessed: Flag = True,
) -> Any:
    """The open alerts that have not ended, by fingerprint. Needs the `read` scope."""
    try:
        wanted = AlertFilter.parse(
            filter, receiver, active=active, silenced=silenced, inhibited=inhibited, unprocessed=unprocessed
        )
    except FilterError as exc:
        return error(400, str(exc))
    async with db.read(rt.engine) as conn:
        rows = await alertmanager_reads.open_alerts(conn, principal.tenant, rt.clock())
    tree = rt.config.current.tree
    return [alert for alert in (gettable(row, tree) for row in rows) if wanted.keeps(alert)]


@router.get(
    "/alerts/groups",
    response_model=list[AlertGroup],
    response_model_exclude_none=True,
    responses=_BAD_REQUEST,
    summary="Alert groups (Alertmanager API v2)",
)
async def get_groups(
    rt: RuntimeDep,
    principal: ReadKey,
    filter: Filter = [],  # noqa: B006 - Alertmanager's parameter name
    receiver: Receiver_ = None,
    active: Flag = True,
    silenced: Flag = True,
    inhibited: Flag = True,
) -> Any:
    """Each group (route, receiver and group labels) with its alerts that pass the filters;
    groups left without alerts are not listed. Needs the `read` scope."""
    try:
        wanted = AlertFilter.parse(filter, None, active=active, silenced=silenced, inhibited=inhibited)
    except FilterError as exc:
        return error(400, str(exc))
    try:
        by_receiver = AlertFilter.parse([], receiver)
    except FilterError as exc:
        return error(400, str(exc))
    async with db.read(rt.engine) as conn:
        found = await alertmanager_reads.groups_with_alerts(conn, principal.tenant, rt.clock())
    tree = rt.config.current.tree
    answer = []
    for group in found:
        if not by_receiver.receives([group["receiver"]]):
            continue
        alerts = [alert for alert in (gettable(row, tree) for row in group["alerts"]) if wanted.keeps(alert)]
        if alerts:
            answer.append(AlertGroup(labels=group["labels"], receiver=Receiver(name=group["receiver"]), alerts=alerts))
    answer.sort(key=lambda g: (sorted(g.labels.items()), g.receiver.name))
    return answer
