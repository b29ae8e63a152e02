"""`/api/v1/silences`: create, list, read, change and expire silences (Alertmanager's rules)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from alert_handler import db
from alert_handler.api.auth import Principal
from alert_handler.api.deps import ReadKey, RuntimeDep, WriteKey
from alert_handler.api.schemas import SilenceIn, SilenceOut
from alert_handler.domain.matchers import MatcherError, parse_matcher
from alert_handler.errors import InvalidInput
from alert_handler.muting.service import SilenceDraft, create_silence, update_silence
from alert_handler.muting.silences import SilenceState
from alert_handler.store import silences

router = APIRouter(prefix="/api/v1/silences", tags=["silences"])

SilenceId = Annotated[
    str, Path(min_length=1, max_length=36, pattern="^[0-9A-Za-z-]+$", description="The silence's id (a UUID)")
]
_INVALID: dict[int | str, dict[str, Any]] = {422: {"description": "Invalid silence; names the field"}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such silence"}}


def _draft(body: SilenceIn, principal: Principal) -> SilenceDraft:
    return SilenceDraft(
        matchers=body.matchers,
        created_by=body.created_by or principal.name,
        comment=body.comment,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        duration=body.duration,
    )


@router.get("", response_model=list[SilenceOut], summary="List silences")
async def list_silences(
    rt: RuntimeDep,
    principal: ReadKey,
    state: Annotated[SilenceState | None, Query(description="only silences in this state now")] = None,
    matcher: Annotated[
        list[str],
        Query(
            max_length=64,
            description="only silences having each of these matchers, exactly (name, operator and value), as "
            'Alertmanager\'s filter: matcher=alertname="DiskFull"',
        ),
    ] = [],  # noqa: B006
) -> list[SilenceOut]:
    """Active silences first (ending soonest first), then pending (starting soonest first), then
    expired (latest first), as Alertmanager orders them. Expired silences are kept."""
    try:
        wanted = [parse_matcher(m) for m in matcher]
    except MatcherError as exc:
        raise InvalidInput([{"loc": ["query", "matcher"], "msg": str(exc), "type": "value_error"}]) from exc
    now = rt.clock()
    async with db.read(rt.engine) as conn:
        found = await silences.list_silences(conn, principal.tenant, now=now, state=state, matchers=wanted)
    return [SilenceOut.of(s, now) for s in found]


@router.post("", response_model=SilenceOut, status_code=201, responses=_INVALID, summary="Create a silence")
async def create(body: SilenceIn, rt: RuntimeDep, principal: WriteKey) -> SilenceOut:
    """Mutes the alerts matching every matcher from `starts_at` to `ends_at` (or for `duration`).
    At least one matcher must not match the empty string; the end must be after the start and
    not in the past. Needs the `write` scope."""
    now = rt.clock()
    async with db.write(rt.engine) as conn:
        silence = await create_silence(conn, principal.tenant, _draft(body, principal), now)
    return SilenceOut.of(silence, now)


@router.get("/{silence_id}", response_model=SilenceOut, responses=_NOT_FOUND, summary="One silence")
async def get(silence_id: SilenceId, rt: RuntimeDep, principal: ReadKey) -> SilenceOut:
    now = rt.clock()
    async with db.read(rt.engine) as conn:
        silence = await silences.get(conn, principal.tenant, silence_id)
    if silence is None:
        raise HTTPException(404, f"silence {silence_id} not found")
    return SilenceOut.of(silence, now)


@router.put(
    "/{silence_id}",
    response_model=SilenceOut,
    responses={**_NOT_FOUND, **_INVALID},
    summary="Change a silence (in place, or replaced by a new one)",
)
async def update(silence_id: SilenceId, body: SilenceIn, rt: RuntimeDep, principal: WriteKey) -> SilenceOut:
    """As Alertmanager: the silence changes in place when its matchers stay the same and what it
    already silenced stays true (an active silence keeps its start and does not end in the past;
    a pending one does not start in the past). Otherwise it is expired (if it is not already) and
    a new silence with a new `id` takes its place. The answer is the silence now in use."""
    now = rt.clock()
    async with db.write(rt.engine) as conn:
        silence = await update_silence(conn, principal.tenant, silence_id, _draft(body, principal), now)
    if silence is None:
        raise HTTPException(404, f"silence {silence_id} not found")
    return SilenceOut.of(silence, now)


@router.delete(
    "/{silence_id}",
    response_model=SilenceOut,
    responses={**_NOT_FOUND, 409: {"description": "The silence has already expired"}},
    summary="Expire a silence",
)
async def expire(silence_id: SilenceId, rt: RuntimeDep, principal: WriteKey) -> SilenceOut:
    """An active silence ends now; a pending one starts and ends now. It is kept, expired. An
    already expired silence is refused with 409, as Alertmanager refuses it."""
    now = rt.clock()
    async with db.write(rt.engine) as conn:
        expiry = await silences.expire(conn, principal.tenant, silence_id, now)
    if expiry.silence is None:
        raise HTTPException(404, f"silence {silence_id} not found")
    if expiry.already:
        raise HTTPException(409, f"silence {silence_id} already expired")
    return SilenceOut.of(expiry.silence, now, SilenceState.EXPIRED)
