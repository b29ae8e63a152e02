"""`/api/v1/api-keys`: create (key shown once), list and revoke keys. Admin scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from alert_handler import db
from alert_handler.api.deps import AdminKey, RuntimeDep
from alert_handler.api.schemas import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut
from alert_handler.store import api_keys

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])


@router.post("", response_model=ApiKeyCreatedOut, status_code=201)
async def create_key(body: ApiKeyIn, rt: RuntimeDep, principal: AdminKey) -> ApiKeyCreatedOut:
    async with db.write(rt.engine) as conn:
        record, key = await api_keys.create(
            conn, name=body.name, scopes=body.scopes, tenant=body.tenant or principal.tenant, now=rt.clock()
        )
    return ApiKeyCreatedOut(**ApiKeyOut.model_validate(record, from_attributes=True).model_dump(), key=key)


@router.get("", response_model=list[ApiKeyOut])
async def list_keys(rt: RuntimeDep, principal: AdminKey) -> list[ApiKeyOut]:
    async with db.read(rt.engine) as conn:
        records = await api_keys.list_keys(conn)
    return [ApiKeyOut.model_validate(r, from_attributes=True) for r in records]


@router.delete("/{key_id}", status_code=204, responses={404: {"description": "No active key with that id"}})
async def revoke_key(key_id: Annotated[int, Path(ge=1, le=2**63 - 1)], rt: RuntimeDep, principal: AdminKey) -> None:
    async with db.write(rt.engine) as conn:
        revoked = await api_keys.revoke_id(conn, key_id, rt.clock())
    if not revoked:
        raise HTTPException(404, f"no active API key with id {key_id}")
    rt.keys.forget_all()
