"""The generic `webhook` channel: sends Alertmanager's webhook payload (version 4) as JSON, or
the JSON a template makes (`body_template` inline, or `template: webhook` for the shipped one).

Anything that takes Alertmanager's webhook takes the default. A 2xx is delivered; 429, 5xx,
timeouts and connection errors are worth a retry; any other 4xx is not (the request itself is
wrong). Every request carries `X-Alert-Handler-Notification`, a key that is the same on a retry,
so a receiver can drop a duplicate; with `hmac_secret`, `X-Alert-Handler-Signature:
sha256=<hex>` is the HMAC-SHA256 of the raw body. A body over `max_body_bytes` loses alerts
from its end (the payload's `truncatedAlerts` says how many) until it fits.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import Field, SecretStr, field_validator

from alert_handler.channels import http
from alert_handler.channels.base import Delivery, Message, MessageAlert, common_items
from alert_handler.channels.templated import Renderer, TemplatedSettings, check_inline
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates

ZERO_TIME = "0001-01-01T00:00:00Z"
_HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"


class WebhookSettings(TemplatedSettings):
    TEMPLATE_CHANNEL = "webhook"
    TEMPLATE_FILES = ("body.json",)
    TEMPLATE_BY_DEFAULT = False  # the default body is Alertmanager's payload, made in code

    url: SecretStr = Field(description="where to send; kept secret, as it often carries a token")
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    max_alerts: int = Field(0, ge=0, description="at most this many alerts per message; 0: all")
    max_body_bytes: int = Field(1 << 20, ge=1024, le=64 << 20)
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    body_template: str | None = Field(None, description="a template of the JSON body; `{{ x }}` prints x as JSON")
    hmac_secret: SecretStr | None = None
    signature_header: str = Field("X-Alert-Handler-Signature", pattern=_HEADER_NAME)

    @field_validator("body_template")
    @classmethod
    def _body_compiles(cls, value: str | None) -> str | None:
        return check_inline(value, "json")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        if (
            urlsplit(value.get_secret_value()).scheme not in ("http", "https")
            or not urlsplit(value.get_secret_value()).netloc
        ):
            raise ValueError("must be an http:// or https:// URL")
        return value


def _time(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ZERO_TIME


def _alert(alert: MessageAlert, status: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": alert.labels,
        "annotations": alert.annotations or {"summary": alert.title},
        "startsAt": _time(alert.starts_at),
        "endsAt": _time(alert.ends_at) if status == "resolved" else ZERO_TIME,
        "generatorURL": alert.generator_url or alert.url,
        "fingerprint": alert.fingerprint,
    }


def payload(message: Message, max_alerts: int = 0) -> dict[str, Any]:
    alerts = [_alert(a, "firing") for a in message.firing] + [_alert(a, "resolved") for a in message.resolved]
    kept = alerts[:max_alerts] if max_alerts else alerts
    return {
        "version": "4",
        "groupKey": message.group_key,
        "truncatedAlerts": len(alerts) - len(kept),
        "status": message.status,
        "receiver": message.receiver,
        "groupLabels": message.group_labels,
        "commonLabels": common_items([a["labels"] for a in alerts]),
        "commonAnnotations": common_items([a["annotations"] for a in alerts]),
        "externalURL": message.external_url,
        "alerts": kept,
    }


def payload_keeping(message: Message, keep: int) -> dict[str, Any]:
    """The v4 payload with its first `keep` alerts (0: none; common labels still from all)."""
    if keep:
        return payload(message, keep)
    found = payload(message)
    found.update(alerts=[], truncatedAlerts=len(message.alerts))
    return found


def _fewer(keep: int, size: int, limit: int) -> int:
    """How many alerts to try next for a body of `size` bytes over `limit`."""
    return max(keep * limit // size - 1, 0) if keep > 1 else 0


def fitted_payload(message: Message, max_alerts: int, max_bytes: int) -> bytes:
    """The v4 payload as JSON, with alerts dropped from its end until it is at most `max_bytes`."""
    keep = min(max_alerts or len(message.alerts), len(message.alerts))
    body = orjson.dumps(payload_keeping(message, keep))
    while len(body) > max_bytes and keep > 0:
        keep = _fewer(keep, len(body), max_bytes)
        body = orjson.dumps(payload_keeping(message, keep))
    return body


class WebhookChannel:
    name = "webhook"
    Settings = WebhookSettings

    def __init__(
        self, settings: WebhookSettings, client: httpx.AsyncClient | None = None, templates: Templates | None = None
    ) -> None:
        self.settings = settings
        self._url = settings.url.get_secret_value()
        self._renderer = Renderer(settings, templates)
        self._client = client or http.client(settings.timeout_seconds)

    def body(self, message: Message) -> bytes:
        """The request body; raises TemplateError when a template fails or makes no JSON."""
        settings = self.settings
        if settings.body_template is None and settings.template is None:
            return fitted_payload(message, settings.max_alerts, settings.max_body_bytes)
        shown = min(settings.max_alerts or len(message.alerts), len(message.alerts))
        while True:
            context = self._renderer.context(message, max_alerts=shown, payload=payload_keeping(message, shown))
            if settings.body_template is not None:
                text = self._renderer.inline(settings.body_template, "json", context)
            else:
                text = self._renderer.file("body.json", context)
            try:
                orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise TemplateError(f"the body template made no valid JSON: {exc}") from None
            body = text.encode()
            if len(body) <= settings.max_body_bytes or shown == 0:
                return body
            shown = _fewer(shown, len(body), settings.max_body_bytes)

    def preview(self, message: Message) -> dict[str, str]:
        return {"method": self.settings.method, "body": self.body(message).decode()}

    async def send(self, message: Message) -> Delivery:
        headers = {k: v.get_secret_value() for k, v in self.settings.headers.items()}
        headers.update({"Content-Type": "application/json", "X-Alert-Handler-Notification": message.key})
        try:
            body = self.body(message)
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        if self.settings.hmac_secret is not None:
            key = self.settings.hmac_secret.get_secret_value().encode()
            headers[self.settings.signature_header] = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        answer = await http.request(self._client, self.settings.method, self._url, content=body, headers=headers)
        return answer if isinstance(answer, Delivery) else Delivery.sent()

    async def close(self) -> None:
        await self._client.aclose()
