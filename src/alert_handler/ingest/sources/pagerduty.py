"""PagerDuty Events API v2 bodies (`POST /v2/enqueue`), so tools that speak it can send here.

    trigger      fires (or repeats) the alert whose fingerprint is the `dedup_key`; without
                 one, the identity is the source, summary and labels, and the answer names it
    acknowledge  acknowledges the open alert with that `dedup_key`
    resolve      resolves it

`payload.severity` critical / error / warning / info maps to critical / high / warning / info;
`component`, `group` and `class` become labels; `payload.source` is metadata `host`;
`custom_details`, `links` and `images` are kept as metadata. The `routing_key` may carry the
integration's token (PagerDuty senders cannot always add a header).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from alert_handler.domain.severity import Severity
from alert_handler.ingest.sources.alertmanager import TEXT_LIMIT, TITLE_LIMIT
from alert_handler.ingest.sources.base import Acknowledgement, Context, Normalized, build, clip, parse_payload

_SEVERITIES = {
    "critical": Severity.CRITICAL,
    "error": Severity.HIGH,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
}
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024)]
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: datetime | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(None, alias="class")
    custom_details: Any = None


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    routing_key: str | None = None
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)] | None = None
    payload: Payload | None = None
    client: str | None = None
    client_url: str | None = None
    links: list[Any] = Field(default_factory=list)
    images: list[Any] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs(self) -> Event:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("a trigger event needs a payload (summary, source, severity)")
        if self.event_action != "trigger" and self.dedup_key is None:
            raise ValueError(f"an {self.event_action} event needs the dedup_key of the alert")
        return self


def routing_key(body: bytes) -> str | None:
    """The body's `routing_key`, read for authentication before the body is validated."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    key = document.get("routing_key") if isinstance(document, dict) else None
    return key if isinstance(key, str) else None


def normalize(body: bytes, ctx: Context) -> Normalized:
    event = parse_payload(Event, body)
    if event.event_action == "acknowledge":
        assert event.dedup_key is not None
        return Normalized(acknowledgements=[Acknowledgement(event.dedup_key, note=event.client)])
    payload = event.payload
    if payload is None:  # a resolve without one: what is known of the alert is its key
        assert event.dedup_key is not None
        fields: dict[str, Any] = {
            "source": ctx.source or "pagerduty",
            "title": event.dedup_key,
            "dedup_key": event.dedup_key,
            "status": "resolved",
        }
        return Normalized(alerts=[build(fields, ctx, where=())])
    labels = {"component": payload.component, "group": payload.group, "class": payload.class_}
    metadata = {
        "integration": ctx.integration,
        "host": payload.source,
        "custom_details": payload.custom_details,
        "client": event.client,
        "links": event.links,
        "images": event.images,
    }
    fields = {
        "source": ctx.source or "pagerduty",
        "severity": _SEVERITIES[payload.severity],
        "title": clip(payload.summary, TITLE_LIMIT),
        "description": clip(payload.summary, TEXT_LIMIT) if len(payload.summary) > TITLE_LIMIT else "",
        "labels": {k: clip(v, 1024) for k, v in labels.items() if v and v.strip()},
        "metadata": {k: v for k, v in metadata.items() if v not in (None, "", [], {})},
        "dedup_key": event.dedup_key,
        "status": "resolved" if event.event_action == "resolve" else "firing",
        "starts_at": payload.timestamp,
        "generator_url": event.client_url if event.client_url and len(event.client_url) <= 2048 else None,
    }
    renamed = {
        "title": ("payload", "summary"),
        "labels": ("payload",),
        "metadata": ("payload", "custom_details"),
        "starts_at": ("payload", "timestamp"),
        "generator_url": ("client_url",),
    }
    return Normalized(alerts=[build(fields, ctx, where=(), renamed=renamed)])
