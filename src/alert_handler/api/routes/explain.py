"""`GET /api/v1/alerts/{id}/explain`: why an alert was routed, grouped, muted, notified, escalated."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException

from alert_handler import db
from alert_handler.api.deps import ReadKey, RuntimeDep
from alert_handler.api.routes.alerts import AlertId
from alert_handler.api.schemas import ExplanationOut, GroupOut, NotificationOut
from alert_handler.domain.alert import Status
from alert_handler.muting.time_intervals import muted_by_time
from alert_handler.processing.flush import time_intervals
from alert_handler.store import alert_reads, explain_reads
from alert_handler.store import groups as group_store

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


def _time_muted(rt: RuntimeDep, path: str) -> str | None:
    """Whether the route's time intervals hold its notifications right now, and why."""
    loaded = rt.config.current
    route = next((r for r in loaded.tree.walk() if r.path == path), None)
    if route is None or not (route.mute_time_intervals or route.active_time_intervals):
        return None
    return muted_by_time(
        time_intervals(loaded.config), route.mute_time_intervals, route.active_time_intervals, rt.clock()
    )


@router.get(
    "/{alert_id}/explain",
    response_model=ExplanationOut,
    responses={404: {"description": "No such alert"}},
    summary="Why the alert went where it went",
)
async def explain(alert_id: AlertId, rt: RuntimeDep, principal: ReadKey) -> ExplanationOut:
    """The rules that matched (and why others did not), the routes and groups it joined, what mutes
    it (silences, inhibitions, a rule), the notifications sent about it and its escalation."""
    async with db.read(rt.engine) as conn:
        row = await alert_reads.get_alert(conn, principal.tenant, alert_id)
        if row is None:
            raise HTTPException(404, f"alert {alert_id} not found")
        groups = await group_store.groups_of_alert(conn, alert_id)
        sent = await explain_reads.alert_notifications(conn, principal.tenant, alert_id, [g["id"] for g in groups])
    explanation = row["explanation"] or {}
    routes = [{**r, "time_muted": _time_muted(rt, r.get("path", ""))} for r in explanation.get("routes", [])]
    processed_at = explanation.get("processed_at")
    escalation = None
    if row["escalation_policy"]:
        escalation = {
            "policy": row["escalation_policy"],
            "next_step": row["escalation_step"],
            "due_at": row["escalation_due_at"].isoformat() if row["escalation_due_at"] else None,
        }
    return ExplanationOut(
        alert_id=alert_id,
        status=Status(row["status"]),
        processed=row["pending_since"] is None,
        processed_at=datetime.fromisoformat(processed_at) if processed_at else None,
        rules=explanation.get("rules", {}),
        routes=routes,
        suppressed_by=row["suppressed_by"] or [],
        groups=[GroupOut.model_validate(g) for g in groups],
        notifications=[NotificationOut.model_validate(n) for n in sent],
        escalation=escalation,
    )
