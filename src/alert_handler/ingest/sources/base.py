"""What every webhook normalizer shares: the call it answers, what it returns, and the checks
that make a payload's alert storable the way a native one is.

A normalizer is `normalize(body: bytes, ctx: Context) -> Normalized`. It parses its own format
(unknown fields ignored: senders add fields over time), maps each alert to the native fields,
and raises `InvalidInput` naming the field in the payload (`alerts[2].labels`) when it cannot.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from alert_handler.domain.alert import IncomingAlert
from alert_handler.domain.fingerprint import label_fingerprint
from alert_handler.domain.severity import Severity
from alert_handler.errors import InvalidInput
from alert_handler.ingest.sources.native import NativeAlert

Loc = tuple[str | int, ...]
_LABEL_NAME = re.compile(r"[^a-zA-Z0-9_]")


@dataclass(frozen=True, slots=True)
class Context:
    """Who sends, for whom, and when; plus the integration's defaults."""

    integration: str
    tenant: str
    actor: str
    now: datetime
    identity_keys: list[str]
    source: str | None = None
    severity: Severity | None = None
    max_batch: int = 1000


@dataclass(slots=True)
class Acknowledgement:
    """A request to acknowledge the open alert with this fingerprint (PagerDuty, Zabbix)."""

    fingerprint: str
    note: str | None = None


@dataclass(slots=True)
class Normalized:
    alerts: list[IncomingAlert] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)


class Normalizer(Protocol):
    def __call__(self, body: bytes, ctx: Context) -> Normalized: ...


M = TypeVar("M", bound=BaseModel)


def _errors(exc: ValidationError, prefix: Loc = ()) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = () if error["type"] == "json_invalid" else error["loc"]
        out.append({"loc": ["body", *prefix, *loc], "msg": error["msg"], "type": error["type"]})
    return out


def parse_payload(model: type[M], body: bytes) -> M:
    """The payload as `model`, or InvalidInput naming the field (422)."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInput(_errors(exc)) from exc


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput([{"loc": ["body"], "msg": f"not valid JSON: {exc}", "type": "json_invalid"}]) from exc


def label_name(name: str) -> str:
    """A name made usable as a label: other characters become `_`, a leading digit gets one."""
    cleaned = _LABEL_NAME.sub("_", name.strip()) or "_"
    return f"_{cleaned}" if cleaned[0].isdigit() else cleaned


def clip(text: str | None, limit: int) -> str:
    """Text cut to what the field holds (senders' titles can be longer than ours)."""
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build(
    fields: Mapping[str, Any],
    ctx: Context,
    *,
    where: Loc,
    renamed: Mapping[str, Loc] | None = None,
    by_labels: bool = False,
) -> IncomingAlert:
    """One native alert from `fields`, validated as `POST /api/v1/alerts` validates it.

    `where` is the alert's place in the payload and `renamed` says which payload field each
    native field came from, so an error names what the sender sent. `by_labels` gives
    Alertmanager's identity (the label set alone) when there is no dedup key.
    """
    try:
        native = NativeAlert.model_validate(fields)
    except ValidationError as exc:
        errors: list[dict[str, object]] = []
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            native_field = str(error["loc"][0]) if error["loc"] else ""
            origin = (renamed or {}).get(native_field, (native_field,) if native_field else ())
            rest = error["loc"][1:]
            errors.append({"loc": ["body", *where, *origin, *rest], "msg": error["msg"], "type": error["type"]})
        raise InvalidInput(errors) from exc
    alert = native.normalize(tenant=ctx.tenant, identity_keys=ctx.identity_keys, actor=ctx.actor, now=ctx.now)
    if by_labels and not native.dedup_key:
        alert = dataclasses.replace(alert, fingerprint=label_fingerprint(native.labels))
    return alert


def check_batch(count: int, ctx: Context, where: Loc = ("alerts",)) -> None:
    if count > ctx.max_batch:
        raise InvalidInput(
            [{"loc": ["body", *where], "msg": f"at most {ctx.max_batch} alerts per request", "type": "too_long"}]
        )


def first(*values: str | None) -> str | None:
    """The first value that is not empty."""
    return next((v for v in values if v and v.strip()), None)


Registry = dict[str, Callable[[bytes, Context], Normalized]]
