"""The `opsgenie` channel: one Opsgenie alert per group, closed when the group resolves.

Create: POST {api_url}/v2/alerts with `Authorization: GenieKey <api_key>` and `{message,
alias, description, responders, tags, details, entity, source, priority}`; the alias is a hash
of receiver and group, so Opsgenie de-duplicates a group's later messages into one alert. Close:
POST {api_url}/v2/alerts/{alias}/close?identifierType=alias `{source, note}`. Opsgenie answers
202 `{"result": "Request will be processed", "requestId"}`. Not retried: 400, 401, 403, 422
(the request, the key or its rights); a 404 on close means nothing is open (delivered). Retried:
429 (after its Retry-After, else a minute) and 5xx. EU accounts use `https://api.eu.opsgenie.com`.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from alert_handler.channels import http
from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.email import one_line
from alert_handler.channels.templated import Renderer, TemplatedSettings
from alert_handler.domain.severity import Severity
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates
from alert_handler.templates.context import common_labels

PRIORITIES = {"critical": "P1", "high": "P2", "warning": "P3", "info": "P5"}


class Responder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["team", "user", "escalation", "schedule"]
    name: str | None = Field(None, max_length=512)
    id: str | None = Field(None, max_length=512)
    username: str | None = Field(None, max_length=512)

    @model_validator(mode="after")
    def _one_identity(self) -> Responder:
        if sum(v is not None for v in (self.name, self.id, self.username)) != 1:
            raise ValueError("give exactly one of name, id and username")
        return self


class OpsgenieSettings(TemplatedSettings):
    TEMPLATE_CHANNEL = "opsgenie"
    TEMPLATE_FILES = ("message.txt", "description.txt")

    api_key: SecretStr = Field(min_length=1, description="an API integration's key")
    api_url: str = Field("https://api.opsgenie.com", pattern=r"^https?://[^/\s]+/?$")
    responders: list[Responder] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, max_length=20)
    priority: Literal["P1", "P2", "P3", "P4", "P5"] | None = Field(
        None, description="for every alert; unset: from the worst firing severity (critical P1 ... info P5)"
    )
    entity: str | None = Field(None, max_length=512)
    max_alerts: int = Field(50, ge=1, le=1000, description="alerts listed in the description")
    timeout_seconds: float = Field(10.0, gt=0, le=300)


class OpsgenieChannel:
    name = "opsgenie"
    Settings = OpsgenieSettings

    def __init__(
        self, settings: OpsgenieSettings, client: httpx.AsyncClient | None = None, templates: Templates | None = None
    ) -> None:
        self.settings = settings
        self._renderer = Renderer(settings, templates)
        self._client = client or http.client(settings.timeout_seconds)
        self._key = settings.api_key.get_secret_value()
        self._base = settings.api_url.rstrip("/")

    def priority(self, message: Message) -> str:
        if self.settings.priority:
            return self.settings.priority
        return PRIORITIES[(message.worst_firing() or Severity.INFO).value]

    def create(self, message: Message) -> dict[str, Any]:
        context = self._renderer.context(message, max_alerts=self.settings.max_alerts)
        labels = {**common_labels(message.alerts), **message.group_labels}
        tags = [t[:50] for t in [*self.settings.tags, *sorted({t for a in message.alerts for t in a.tags})]][:20]
        body: dict[str, Any] = {
            "message": http.cut_chars(one_line(self._renderer.file("message.txt", context)), 130) or "alert-handler",
            "alias": message.group_hash,
            "description": http.cut_chars(self._renderer.file("description.txt", context).strip(), 15000),
            "tags": tags,
            "details": {k[:128]: v[:512] for k, v in labels.items()},
            "source": "alert-handler",
            "priority": self.priority(message),
        }
        if self.settings.responders:
            body["responders"] = [r.model_dump(exclude_none=True) for r in self.settings.responders]
        if self.settings.entity:
            body["entity"] = self.settings.entity
        return body

    def preview(self, message: Message) -> dict[str, str]:
        if message.status == "resolved":
            return {"close": f"/v2/alerts/{message.group_hash}/close?identifierType=alias"}
        return {"create": orjson.dumps(self.create(message), option=orjson.OPT_INDENT_2).decode()}

    async def send(self, message: Message) -> Delivery:
        headers = {"Authorization": f"GenieKey {self._key}", "Content-Type": "application/json"}
        closing = message.status == "resolved"
        if closing:
            url = f"{self._base}/v2/alerts/{quote(message.group_hash)}/close?identifierType=alias"
            body = orjson.dumps({"source": "alert-handler", "note": f"resolved ({len(message.resolved)} alerts)"})
        else:
            url = f"{self._base}/v2/alerts"
            try:
                body = orjson.dumps(self.create(message))
            except TemplateError as exc:
                return Delivery.failed(f"template: {exc}", retry=False)
        answer = await http.request(
            self._client, "POST", url, content=body, headers=headers, wait_unless_told=http.NEXT_MINUTE
        )
        if isinstance(answer, Delivery):
            if closing and answer.error.startswith("HTTP 404"):
                return Delivery.sent()  # nothing open to close
            return answer.without(self._key)
        found = http.json_body(answer) or {}
        return Delivery.sent({"request_id": str(found.get("requestId", ""))})

    async def close(self) -> None:
        await self._client.aclose()
