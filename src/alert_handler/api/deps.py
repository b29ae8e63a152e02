"""Dependencies shared by the routes, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from alert_handler.api.auth import Principal, key_from_headers
from alert_handler.api.runtime import Runtime, runtime
from alert_handler.security.keys import Scope

RuntimeDep = Annotated[Runtime, Depends(runtime)]

_UNAUTHENTICATED = {"WWW-Authenticate": 'Bearer realm="alert-handler"'}


async def authenticate(
    rt: Runtime,
    authorization: str | None,
    x_api_key: str | None,
    scope: Scope,
) -> Principal:
    if not rt.settings.auth_enabled:
        return Principal("anonymous", (Scope.ADMIN.value,), rt.settings.default_tenant)
    key = key_from_headers(authorization, x_api_key)
    if key is None:
        raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'", headers=_UNAUTHENTICATED)
    principal = await rt.keys.principal(key)
    if principal is None:
        raise HTTPException(401, "invalid or revoked API key", headers=_UNAUTHENTICATED)
    if not principal.can(scope):
        raise HTTPException(403, f"this API key lacks the '{scope.value}' scope")
    return principal


def require(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    async def dependency(
        request: Request,
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
        x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Principal:
        return await authenticate(await runtime(request), authorization, x_api_key, scope)

    return dependency


IngestKey = Annotated[Principal, Depends(require(Scope.INGEST))]
ReadKey = Annotated[Principal, Depends(require(Scope.READ))]
WriteKey = Annotated[Principal, Depends(require(Scope.WRITE))]
AdminKey = Annotated[Principal, Depends(require(Scope.ADMIN))]
