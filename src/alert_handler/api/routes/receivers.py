"""`/api/v1/receivers/{name}/test` sends a test notification through a receiver of the running
configuration now; `/preview` renders it as the channel would send it, without sending."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import JSONResponse
from loguru import logger
from pydantic import BaseModel

from alert_handler.api.deps import ReadKey, RuntimeDep, WriteKey
from alert_handler.channels.base import Channel, Delivery, Previewable
from alert_handler.channels.registry import build
from alert_handler.channels.sample import sample_message
from alert_handler.errors import TemplateError
from alert_handler.routing.models import Receiver

router = APIRouter(prefix="/api/v1/receivers", tags=["receivers"])

ReceiverName = Annotated[str, Path(min_length=1, max_length=200)]


class ReceiverTestOut(BaseModel):
    receiver: str
    type: str
    ok: bool
    retry: bool = False
    error: str = ""


class ReceiverPreviewOut(BaseModel):
    receiver: str
    type: str
    parts: dict[str, str]


def _receiver(rt: RuntimeDep, name: str) -> Receiver:
    found = rt.config.current.config.receiver(name)
    if found is None:
        raise HTTPException(404, f"receiver {name!r} not found")
    return found


def _channel(receiver: Receiver) -> Channel:
    try:
        return build(receiver.type, receiver.settings)
    except Exception as exc:  # settings the running configuration accepted; a template file since broken
        raise HTTPException(422, f"receiver {receiver.name!r} cannot be built: {type(exc).__name__}") from None


@router.post(
    "/{name}/test",
    response_model=ReceiverTestOut,
    responses={404: {"description": "No such receiver"}, 502: {"description": "The channel failed; its error"}},
    summary="Send a test notification through a receiver now",
)
async def test_receiver(name: ReceiverName, rt: RuntimeDep, principal: WriteKey) -> ReceiverTestOut | JSONResponse:
    receiver = _receiver(rt, name)
    channel = _channel(receiver)
    message = sample_message(receiver.name, now=rt.clock(), external_url=rt.settings.public_url)
    try:
        delivery = await channel.send(message)
    except Exception as exc:
        logger.opt(exception=exc).warning("test notification: channel of receiver {} raised", receiver.name)
        delivery = Delivery.failed(f"channel error ({type(exc).__name__})", retry=True)
    finally:
        await channel.close()
    logger.info("test notification to {} by {}: {}", receiver.name, principal.name, "sent" if delivery.ok else "failed")
    answer = ReceiverTestOut(
        receiver=receiver.name, type=receiver.type, ok=delivery.ok, retry=delivery.retry, error=delivery.error
    )
    if delivery.ok:
        return answer
    return JSONResponse(answer.model_dump(), status_code=502)


@router.post(
    "/{name}/preview",
    response_model=ReceiverPreviewOut,
    responses={404: {"description": "No such receiver"}, 422: {"description": "A template failed"}},
    summary="Render a test notification as the receiver would send it, without sending",
)
async def preview_receiver(name: ReceiverName, rt: RuntimeDep, principal: ReadKey) -> ReceiverPreviewOut:
    receiver = _receiver(rt, name)
    channel = _channel(receiver)
    try:
        if not isinstance(channel, Previewable):
            raise HTTPException(422, f"receiver type {receiver.type!r} cannot preview")
        message = sample_message(receiver.name, now=rt.clock(), external_url=rt.settings.public_url)
        try:
            parts = channel.preview(message)
        except TemplateError as exc:
            raise HTTPException(422, f"template: {exc}") from None
    finally:
        await channel.close()
    return ReceiverPreviewOut(receiver=receiver.name, type=receiver.type, parts=parts)
