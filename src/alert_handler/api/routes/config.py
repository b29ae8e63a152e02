"""`/api/v1/config`: the running configuration, and objects made through the API (receivers,
routes, rules, inhibit rules, time intervals, escalation policies, integrations); `POST /-/reload`.

Objects from the file are read-only here (409). A PUT is validated as part of the whole
configuration before it is stored; a DELETE that would leave a reference dangling is refused.
After a change this process reloads at once; the others within CONFIG_REFRESH_SECONDS.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from loguru import logger

from alert_handler import db
from alert_handler.api.body import read_limited
from alert_handler.api.config_reload import reload_logged
from alert_handler.api.config_views import (
    SECRET_KINDS,
    ConfigObjectOut,
    ConfigOut,
    ReloadFailedOut,
    ReloadOut,
    restore_masked,
    shown,
)
from alert_handler.api.deps import AdminKey, ReadKey, RuntimeDep, authenticate
from alert_handler.api.runtime import Runtime
from alert_handler.routing.live import InvalidConfig, InvalidMerge, ObjectSpec
from alert_handler.routing.merge import NAMED_KINDS
from alert_handler.routing.references import format_loc
from alert_handler.security.keys import Scope
from alert_handler.store import config_objects

router = APIRouter(prefix="/api/v1/config", tags=["configuration"])
reload_router = APIRouter(tags=["operations"])

Kind = Literal["receivers", "routes", "rules", "inhibit_rules", "time_intervals", "escalation_policies", "integrations"]
KindPath = Annotated[Kind, Path(description="The kind of object")]
NamePath = Annotated[str, Path(min_length=1, max_length=255, description="The object's name")]
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")
_OBJECT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    }
}
_NOT_FOUND = {"description": "No object of that kind and name"}
_PROVISIONED = {"description": "Provisioned by the file (read-only), or still referred to"}


def _scope(kind: str) -> Scope:
    return Scope.ADMIN if kind in SECRET_KINDS else Scope.WRITE  # receivers and integrations carry secrets


async def _principal_for(request: Request, rt: Runtime, kind: str) -> str:
    headers = request.headers
    principal = await authenticate(rt, headers.get("authorization"), headers.get("x-api-key"), _scope(kind))
    return principal.actor


def _refuse_provisioned(rt: Runtime, kind: str, name: str) -> None:
    if name in rt.config.current.provisioned.get(kind, frozenset()):
        raise HTTPException(
            409, f"{kind}/{name} is provisioned by the file {rt.config.path}: change it there and reload"
        )


def _invalid(errors: list[tuple[list[str | int], str]]) -> JSONResponse:
    detail = [{"loc": loc, "msg": msg, "type": "invalid_config"} for loc, msg in errors]
    message = "; ".join(f"{format_loc(loc)}: {msg}" for loc, msg in errors[:3])
    return JSONResponse({"detail": detail, "message": message}, status_code=422)


def _body(raw: bytes, kind: str, name: str) -> dict[str, Any] | JSONResponse:
    """The request's object, named as the path names it; or the 422 saying why not."""
    if not _NAME.fullmatch(name):
        return _invalid(
            [(["path", "name"], "a name is 1-128 of A-Z a-z 0-9 _ . : @ -, starting with a letter or digit")]
        )
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _invalid([(["body"], f"not valid JSON: {exc}")])
    if not isinstance(body, dict):
        return _invalid([(["body"], "expected a JSON object")])
    given = body.pop("name", name)
    if given != name:
        return _invalid([(["body", "name"], f"{given!r} differs from the name in the path ({name!r})")])
    if kind in NAMED_KINDS:
        body["name"] = name
    return body


def _problems(exc: InvalidConfig, kind: str, name: str) -> list[tuple[list[str | int], str]]:
    """The problems a change would bring, named by their path in the request body where they are
    in the object sent, by their origin otherwise."""
    found: list[tuple[list[str | int], str]] = []
    for problem in exc.problems:
        located = exc.locate(problem) if isinstance(exc, InvalidMerge) else None
        if located is not None and (located[0].kind, located[0].name) == (kind, name):
            found.append((["body", *located[1]], problem.message))
        else:
            described = exc.describe(problem) if isinstance(exc, InvalidMerge) else problem.message
            found.append((["config"], described))
    return found


async def _refresh(rt: Runtime) -> None:
    try:
        await rt.config.refresh_if_changed(rt.engine)
    except InvalidConfig as exc:  # a concurrent change elsewhere; the periodic refresh logs it too
        logger.error("configuration objects changed but do not validate: {}", "; ".join(exc.lines()))


@router.get("", response_model=ConfigOut, summary="The running configuration (file + API objects)")
async def read_config(rt: RuntimeDep, _: ReadKey) -> ConfigOut:
    loaded = rt.config.current
    data = loaded.config.model_dump(mode="json", by_alias=True, exclude_unset=True)
    for kind in SECRET_KINDS:
        if kind in data:
            data[kind] = [shown(kind, item) for item in data[kind]]
    return ConfigOut(
        revision=loaded.revision,
        loaded_at=loaded.loaded_at,
        file=str(rt.config.path),
        config=data,
        provisioned={kind: sorted(names) for kind, names in loaded.provisioned.items()},
    )


@router.get("/{kind}", response_model=list[ConfigObjectOut], summary="The objects of one kind")
async def list_objects(kind: KindPath, rt: RuntimeDep, _: ReadKey) -> list[ConfigObjectOut]:
    entries = rt.config.current.entries.get(kind, ())
    return [ConfigObjectOut(name=e.name, provisioned=e.provisioned, body=shown(kind, e.body)) for e in entries]


@router.get("/{kind}/{name}", response_model=ConfigObjectOut, responses={404: _NOT_FOUND})
async def read_object(kind: KindPath, name: NamePath, rt: RuntimeDep, _: ReadKey) -> ConfigObjectOut:
    entry = rt.config.current.entry(kind, name)
    if entry is None:
        raise HTTPException(404, f"no {kind} object named {name!r}")
    return ConfigObjectOut(name=entry.name, provisioned=entry.provisioned, body=shown(kind, entry.body))


@router.put(
    "/{kind}/{name}",
    response_model=ConfigObjectOut,
    openapi_extra=_OBJECT_BODY,
    responses={201: {"model": ConfigObjectOut, "description": "Created"}, 404: _NOT_FOUND, 409: _PROVISIONED},
)
async def put_object(kind: KindPath, name: NamePath, request: Request, rt: RuntimeDep) -> Response:
    """Create or replace an API object (write scope; admin for receivers and integrations). The body is the
    object as the file would have it; it is checked with the whole configuration first."""
    actor = await _principal_for(request, rt, kind)
    _refuse_provisioned(rt, kind, name)
    body = _body(await read_limited(request, rt.settings.ingest_max_body_bytes), kind, name)
    if isinstance(body, JSONResponse):
        return body
    problems: list[tuple[list[str | int], str]] = []
    created = False
    async with db.write(rt.engine) as conn:
        stored = await config_objects.list_all(conn)
        old = next((o for o in stored if (o.kind, o.name) == (kind, name)), None)
        if kind in SECRET_KINDS and old is not None:
            body = restore_masked(body, old.body, shown(kind, old.body))
        specs = [ObjectSpec(o.kind, o.name, o.body) for o in stored if o is not old]
        try:
            rt.config.candidate([*specs, ObjectSpec(kind, name, body)])
        except InvalidConfig as exc:
            problems = _problems(exc, kind, name)
        else:
            created = await config_objects.put(conn, kind, name, body, actor, rt.clock())
    if problems:
        return _invalid(problems)
    await _refresh(rt)
    logger.info("configuration object {}/{} {} by {}", kind, name, "created" if created else "replaced", actor)
    entry = rt.config.current.entry(kind, name)
    out = ConfigObjectOut(name=name, provisioned=False, body=shown(kind, entry.body if entry else body))
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.delete("/{kind}/{name}", status_code=204, responses={404: _NOT_FOUND, 409: _PROVISIONED})
async def delete_object(kind: KindPath, name: NamePath, request: Request, rt: RuntimeDep) -> None:
    """Delete an API object (write scope; admin for receivers and integrations), unless something refers to it."""
    actor = await _principal_for(request, rt, kind)
    _refuse_provisioned(rt, kind, name)
    async with db.write(rt.engine) as conn:
        stored = await config_objects.list_all(conn)
        if not any((o.kind, o.name) == (kind, name) for o in stored):
            raise HTTPException(404, f"no {kind} object named {name!r}")
        try:
            rt.config.candidate(
                [ObjectSpec(o.kind, o.name, o.body) for o in stored if (o.kind, o.name) != (kind, name)]
            )
        except InvalidConfig as exc:
            raise HTTPException(409, f"{kind}/{name} is still referred to: " + "; ".join(exc.lines())) from None
        await config_objects.remove(conn, kind, name)
    await _refresh(rt)
    logger.info("configuration object {}/{} deleted by {}", kind, name, actor)


@reload_router.post(
    "/-/reload",
    response_model=ReloadOut,
    responses={400: {"model": ReloadFailedOut, "description": "Invalid: the running configuration stays"}},
    summary="Re-read the configuration file and the API objects (as SIGHUP does)",
)
async def reload_config(rt: RuntimeDep, _: AdminKey) -> Response:
    try:
        loaded = await reload_logged(rt.config, rt.engine, "POST /-/reload")
    except InvalidConfig as exc:
        failed = ReloadFailedOut(status="failed", revision=rt.config.current.revision, errors=exc.lines())
        return JSONResponse(failed.model_dump(), status_code=400)
    return JSONResponse(ReloadOut(status="reloaded", revision=loaded.revision).model_dump())
