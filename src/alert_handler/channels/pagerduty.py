"""The `pagerduty` channel: PagerDuty's Events API v2, one incident per group.

POST {url} `{"routing_key", "event_action": "trigger" | "resolve", "dedup_key", "payload":
{summary, source, severity, timestamp, component, group, class, custom_details}, "links",
"client", "client_url"}`. The dedup key is a hash of receiver and group (as Alertmanager does),
so later messages of a group update its incident and the group's resolve resolves it. PagerDuty
answers 202 `{"status": "success", "dedup_key"}`; 400 `{"status": "invalid event", "errors"}`
is the request's fault (not retried); 429 and 5xx are retried (429 after a minute unless told).
A payload over 512 KB lists fewer alerts in `custom_details`.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any, Literal

import httpx
import orjson
from pydantic import Field, SecretStr

from alert_handler.channels import http
from alert_handler.channels.base import Delivery, Message, MessageAlert
from alert_handler.channels.email import one_line
from alert_handler.channels.templated import Renderer, TemplatedSettings
from alert_handler.domain.severity import Severity
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates

MAX_BYTES = 512 * 1024
SUMMARY_CHARS = 1024
SEVERITIES = {"critical": "critical", "high": "error", "warning": "warning", "info": "info"}


class PagerDutySettings(TemplatedSettings):
    TEMPLATE_CHANNEL = "pagerduty"
    TEMPLATE_FILES = ("summary.txt",)

    routing_key: SecretStr = Field(min_length=1, description="the service integration's routing key")
    url: str = Field("https://events.pagerduty.com/v2/enqueue", pattern=r"^https?://[^\s]+$")
    severity: Literal["critical", "error", "warning", "info"] | None = Field(
        None, description="for every event; unset: from the worst firing alert (high -> error)"
    )
    source: str | None = Field(None, max_length=255, description="unset: the first alert's instance, host or source")
    component: str | None = Field(None, max_length=255)
    group: str | None = Field(None, max_length=255)
    event_class: str | None = Field(None, alias="class", max_length=255)
    max_alerts: int = Field(50, ge=1, le=1000, description="alerts listed in custom_details")
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    model_config = TemplatedSettings.model_config | {"populate_by_name": True}


def _details(alert: MessageAlert) -> dict[str, Any]:
    return {
        "status": alert.status, "severity": alert.severity, "title": alert.title,
        "description": alert.description, "labels": alert.labels, "annotations": alert.annotations,
        "starts_at": alert.starts_at.isoformat(), "url": alert.url,
    }  # fmt: skip


class PagerDutyChannel:
    name = "pagerduty"
    Settings = PagerDutySettings

    def __init__(
        self, settings: PagerDutySettings, client: httpx.AsyncClient | None = None, templates: Templates | None = None
    ) -> None:
        self.settings = settings
        self._renderer = Renderer(settings, templates)
        self._client = client or http.client(settings.timeout_seconds)
        self._key = settings.routing_key.get_secret_value()

    def severity(self, message: Message) -> str:
        if self.settings.severity:
            return self.settings.severity
        return SEVERITIES[(message.worst_firing() or Severity.INFO).value]

    def event(self, message: Message, shown: int) -> dict[str, Any]:
        firing = message.status == "firing"
        event: dict[str, Any] = {
            "routing_key": self._key,
            "event_action": "trigger" if firing else "resolve",
            "dedup_key": message.group_hash,
            "client": "alert-handler",
        }
        if message.external_url:
            event["client_url"] = message.external_url
        if not firing:
            return event
        summary = one_line(self._renderer.file("summary.txt", self._renderer.context(message)))
        first = message.alerts[0]
        source = self.settings.source or first.labels.get("instance") or first.labels.get("host") or first.source
        payload: dict[str, Any] = {
            "summary": http.cut_chars(summary, SUMMARY_CHARS) or "alert-handler",
            "source": source[:255] or "alert-handler",
            "severity": self.severity(message),
            "timestamp": min(a.starts_at for a in message.firing).astimezone(UTC).isoformat(),
            "custom_details": {
                "firing": len(message.firing),
                "resolved": len(message.resolved),
                "group_labels": message.group_labels,
                "alerts": [_details(a) for a in message.alerts[:shown]],
                "not_listed": max(len(message.alerts) - shown, 0),
            },
        }
        for name, value in (("component", self.settings.component), ("group", self.settings.group)):
            if value:
                payload[name] = value
        if self.settings.event_class:
            payload["class"] = self.settings.event_class
        event["payload"] = payload
        event["links"] = [{"href": a.url, "text": a.title[:100]} for a in message.alerts[:5] if a.url]
        return event

    def body(self, message: Message) -> bytes:
        shown = min(self.settings.max_alerts, len(message.alerts))
        while True:
            body = orjson.dumps(self.event(message, shown))
            if len(body) <= MAX_BYTES or shown == 0:
                return body
            shown = max(min(shown - 1, shown * MAX_BYTES // len(body)), 0)

    def preview(self, message: Message) -> dict[str, str]:
        event = orjson.loads(self.body(message))
        event["routing_key"] = "***"
        return {"event": orjson.dumps(event, option=orjson.OPT_INDENT_2).decode()}

    async def send(self, message: Message) -> Delivery:
        try:
            body = self.body(message)
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        headers = {"Content-Type": "application/json"}
        answer = await http.request(
            self._client, "POST", self.settings.url, content=body, headers=headers, wait_unless_told=http.NEXT_MINUTE
        )
        if isinstance(answer, Delivery):
            return answer.without(self._key)
        found = http.json_body(answer) or {}
        if found.get("status") != "success":
            return Delivery.failed(
                f"PagerDuty answered {answer.status_code} without success: {answer.text[:200]}", retry=False
            )
        return Delivery.sent({"dedup_key": str(found.get("dedup_key", ""))})

    async def close(self) -> None:
        await self._client.aclose()
