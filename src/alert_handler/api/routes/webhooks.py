"""`/api/v1/webhooks/{integration}`: Alertmanager, Grafana, Zabbix, PagerDuty Events v2 and
generic JSON, each an integration of the configuration (`integrations:`)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from alert_handler.api.body import read_limited
from alert_handler.api.deps import RuntimeDep
from alert_handler.api.schemas import AcknowledgementOut, IngestResultOut, WebhookOut
from alert_handler.api.webhook_auth import authenticate_webhook
from alert_handler.ingest import webhooks
from alert_handler.ingest.sources.base import Context
from alert_handler.routing.integrations import INTEGRATION_NAME

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

_ANY_JSON = {
    "requestBody": {
        "required": True,
        "description": "The sender's own payload (Alertmanager, Grafana, Zabbix, PagerDuty v2, or mapped JSON)",
        "content": {"application/json": {"schema": {"anyOf": [{"type": "object"}, {"type": "array"}]}}},
    }
}


@router.post(
    "/{integration}",
    openapi_extra=_ANY_JSON,
    response_model=WebhookOut,
    responses={
        202: {"model": WebhookOut, "description": "Stored (PagerDuty integrations answer 202, as PagerDuty does)"},
        401: {"description": "No valid token, signature or API key"},
        403: {"description": "The API key lacks the ingest scope"},
        404: {"description": "No integration of that name"},
        413: {"description": "Body too large"},
        422: {"description": "The payload cannot be read; names the field"},
    },
    summary="Receive a webhook from an integration",
)
async def receive(
    integration: Annotated[str, Path(pattern=INTEGRATION_NAME, description="The integration's name")],
    request: Request,
    rt: RuntimeDep,
    token: Annotated[str | None, Query(max_length=256, description="The integration's token")] = None,
) -> Response:
    """Stores the alerts the payload carries and answers after the commit, with one result per
    alert (`created`, `duplicate`, `reopened`, `resolved`) and, for PagerDuty `acknowledge` and
    Zabbix acknowledgements, what happened to the alert named."""
    started = time.perf_counter()
    found = rt.config.current.config.integration(integration)
    if found is None:
        raise HTTPException(404, f"no integration named {integration!r}")
    body = await read_limited(request, rt.settings.ingest_max_body_bytes)
    headers = {name.lower(): value for name, value in request.headers.items()}
    caller = await authenticate_webhook(rt, found, headers, token, body)
    ctx = Context(
        integration=found.name,
        tenant=caller.tenant,
        actor=caller.actor,
        now=rt.clock(),
        identity_keys=rt.settings.fingerprint_metadata_keys,
        source=found.source,
        severity=found.severity,
        max_batch=rt.settings.ingest_max_batch,
    )
    normalized = webhooks.normalize(found, body, ctx)
    accepted = await webhooks.accept(rt.writer, rt.engine, rt.metrics, normalized, ctx)
    if accepted.acknowledgements:
        rt.worker.wake(accepted.changed_ids)
    answer: dict[str, Any] = WebhookOut(
        count=len(accepted.results),
        results=[
            IngestResultOut(id=r.id, fingerprint=r.fingerprint, outcome=r.outcome, status=r.status)
            for r in accepted.results
        ],
        acknowledgements=[
            AcknowledgementOut(fingerprint=a.fingerprint, outcome=a.outcome, id=a.id) for a in accepted.acknowledgements
        ],
    ).model_dump(mode="json", exclude_none=True)
    status_code = 200
    if found.type == "pagerduty":
        status_code = 202
        key = accepted.results[0].fingerprint if accepted.results else accepted.acknowledgements[0].fingerprint
        answer.update(status="success", message="Event processed", dedup_key=key)
    rt.metrics.ingest_latency.observe(time.perf_counter() - started)
    return Response(orjson.dumps(answer), status_code=status_code, media_type="application/json")
