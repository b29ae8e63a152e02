"""`/api/v2/silences` and `/api/v2/silence/{id}`: the silences of `/api/v1/silences`, in
Alertmanager's shapes, made and changed by the same service (`muting.service`).

As Alertmanager: POST with an `id` changes that silence (in place when it can, else it is
expired and replaced: the answer names the silence now in use); DELETE expires; expiring an
already expired silence is Alertmanager's 500 with "silence … already expired".
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from alert_handler import db
from alert_handler.api.alertmanager.schemas import (
    ERROR,
    GettableSilence,
    PostableSilence,
    SilenceCreated,
    error,
)
from alert_handler.api.deps import ReadKey, RuntimeDep, WriteKey
from alert_handler.domain.matchers import Matcher, MatcherError, parse_matcher
from alert_handler.errors import InvalidInput, summarize
from alert_handler.ingest.sources.native import LABEL_NAME
from alert_handler.muting.service import SilenceDraft, create_silence, update_silence
from alert_handler.store import silences

router = APIRouter()

SilenceId = Annotated[str, Path(min_length=1, max_length=36, description="The silence's id (a UUID)")]
_NOT_FOUND = {"description": "No such silence"}
_BAD_REQUEST = {"description": "Bad request; says why", **ERROR}
_FIELDS = {"starts_at": "startsAt", "ends_at": "endsAt", "created_by": "createdBy", "duration": "endsAt"}
_FIELD_WORDS = re.compile(r"\b(" + "|".join(_FIELDS) + r")\b")


def _draft(body: PostableSilence) -> SilenceDraft:
    texts, errors = [], []
    for index, given in enumerate(body.matchers):
        if not LABEL_NAME.match(given.name):
            errors.append(f'matchers[{index}]: invalid label name "{given.name}"')
            continue
        try:
            texts.append(str(Matcher.create(given.name, given.op(), given.value)))
        except MatcherError as exc:
            errors.append(f"matchers[{index}]: {exc}")
    if errors:
        raise ValueError("; ".join(errors))
    return SilenceDraft(
        matchers=texts,
        created_by=body.createdBy,
        comment=body.comment,
        starts_at=body.startsAt,
        ends_at=body.endsAt,
    )


def _message(exc: InvalidInput) -> str:
    """The service's errors with Alertmanager's field names (`endsAt: must not be in the past`)."""
    renamed = []
    for item in exc.errors:
        loc = item.get("loc")
        if isinstance(loc, list | tuple):
            loc = [_FIELDS.get(str(part), part) for part in loc]
        msg = _FIELD_WORDS.sub(lambda found: _FIELDS[found.group(0)], str(item.get("msg", "")))
        renamed.append({**item, "loc": loc, "msg": msg})
    return summarize(renamed)


@router.get(
    "/silences",
    response_model=list[GettableSilence],
    responses={400: _BAD_REQUEST},
    summary="Silences (Alertmanager API v2)",
)
async def get_silences(
    rt: RuntimeDep,
    principal: ReadKey,
    filter: Annotated[list[str], Query(max_length=64, description="Matchers a silence must have, exactly")] = [],  # noqa: B006
) -> Any:
    """Active silences first (ending soonest first), then pending, then expired. Needs `read`."""
    try:
        wanted = [parse_matcher(text) for text in filter]
    except MatcherError as exc:
        return error(400, f"bad matcher format: {exc}")
    now = rt.clock()
    async with db.read(rt.engine) as conn:
        found = await silences.list_silences(conn, principal.tenant, now=now, matchers=wanted)
    return [GettableSilence.of(s, now) for s in found]


@router.post(
    "/silences",
    response_model=SilenceCreated,
    responses={400: _BAD_REQUEST, 404: {**_NOT_FOUND, **ERROR}},
    summary="Create or change a silence (Alertmanager API v2)",
)
async def post_silences(body: PostableSilence, rt: RuntimeDep, principal: WriteKey) -> Any:
    """Without `id`: a new silence. With `id`: that silence changed, as Alertmanager changes it.
    The answer is the id of the silence now in use. Needs the `write` scope."""
    try:
        draft = _draft(body)
    except ValueError as exc:
        return error(400, str(exc))
    now = rt.clock()
    try:
        async with db.write(rt.engine) as conn:
            if body.id:
                silence = await update_silence(conn, principal.tenant, body.id, draft, now)
            else:
                silence = await create_silence(conn, principal.tenant, draft, now)
    except InvalidInput as exc:
        return error(400, _message(exc))
    if silence is None:
        return error(404, f"silence {body.id} not found")
    return SilenceCreated(silenceID=silence.id)


@router.get(
    "/silence/{silence_id}",
    response_model=GettableSilence,
    responses={404: {**_NOT_FOUND, **ERROR}},
    summary="One silence (Alertmanager API v2)",
)
async def get_silence(silence_id: SilenceId, rt: RuntimeDep, principal: ReadKey) -> Any:
    now = rt.clock()
    async with db.read(rt.engine) as conn:
        silence = await silences.get(conn, principal.tenant, silence_id)
    if silence is None:
        return error(404, f"silence {silence_id} not found")
    return GettableSilence.of(silence, now)


@router.delete(
    "/silence/{silence_id}",
    response_class=Response,
    responses={
        200: {"description": "Expired"},
        404: {**_NOT_FOUND, **ERROR},
        500: {"description": "Already expired (Alertmanager's answer)", **ERROR},
    },
    summary="Expire a silence (Alertmanager API v2)",
)
async def delete_silence(silence_id: SilenceId, rt: RuntimeDep, principal: WriteKey) -> Response:
    """An active silence ends now; a pending one starts and ends now. Needs the `write` scope."""
    async with db.write(rt.engine) as conn:
        expiry = await silences.expire(conn, principal.tenant, silence_id, rt.clock())
    if expiry.silence is None:
        return error(404, f"silence {silence_id} not found")
    if expiry.already:
        return error(500, f"silence {silence_id} already expired")
    return Response(status_code=200)
