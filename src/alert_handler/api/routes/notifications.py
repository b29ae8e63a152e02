"""`/api/v1/notifications`: what was sent, what is retrying, what gave up (and sending it again)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from sqlalchemy import update

from alert_handler import db
from alert_handler.api.deps import ReadKey, RuntimeDep, WriteKey
from alert_handler.api.schemas import NotificationOut, NotificationPageOut
from alert_handler.store import explain_reads
from alert_handler.store.notifications import NotificationStatus
from alert_handler.store.tables import notifications_table as notifications

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])

NotificationId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("", response_model=NotificationPageOut, summary="Notifications, newest first")
async def list_notifications(
    rt: RuntimeDep,
    principal: ReadKey,
    status: Annotated[
        Literal["pending", "sending", "sent", "dead", "failed"] | None,
        Query(description="`failed` is another name for `dead`: gave up, with the last error"),
    ] = None,
    receiver: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Only ids below this (paging)")] = None,
) -> NotificationPageOut:
    """`status=dead` (or `failed`) lists the notifications that gave up, each with its last error."""
    if status == "failed":
        status = NotificationStatus.DEAD.value
    async with db.read(rt.engine) as conn:
        rows = await explain_reads.list_notifications(
            conn, principal.tenant, status=status, receiver=receiver, limit=limit, before=before
        )
    return NotificationPageOut(items=[NotificationOut.model_validate(r) for r in rows])


@router.post(
    "/{notification_id}/retry",
    response_model=NotificationOut,
    responses={404: {"description": "No such notification"}, 409: {"description": "It has not given up"}},
    summary="Send a dead notification again",
)
async def retry(notification_id: NotificationId, rt: RuntimeDep, principal: WriteKey) -> NotificationOut:
    now = rt.clock()
    async with db.write(rt.engine) as conn:
        result = await conn.execute(
            update(notifications)
            .where(
                notifications.c.id == notification_id,
                notifications.c.tenant == principal.tenant,
                notifications.c.status == NotificationStatus.DEAD.value,
            )
            .values(
                status=NotificationStatus.PENDING.value,
                next_attempt_at=now,
                attempts=0,
                deadline=now + rt.pipeline.limits.notify_deadline,
            )
        )
        row = await explain_reads.get_notification(conn, principal.tenant, notification_id)
    if row is None:
        raise HTTPException(404, f"notification {notification_id} not found")
    if result.rowcount == 0:
        raise HTTPException(409, f"notification {notification_id} is {row['status']}, not dead")
    rt.worker.wake()
    return NotificationOut.model_validate(row)
