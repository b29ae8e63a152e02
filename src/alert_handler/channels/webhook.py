"""The generic `webhook` channel: POSTs Alertmanager's webhook payload (version 4) as JSON.

Anything that takes Alertmanager's webhook takes this. A 2xx is delivered; 429, 5xx, timeouts
and connection errors are worth a retry; any other 4xx is not (the request itself is wrong).
Every request carries `X-Alert-Handler-Notification`, a key that is the same on a retry, so a
receiver can drop a duplicate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import Field, SecretStr, field_validator

from alert_handler.channels.base import ChannelSettings, Delivery, Message, MessageAlert

ZERO_TIME = "0001-01-01T00:00:00Z"


class WebhookSettings(ChannelSettings):
    url: SecretStr = Field(description="where to POST; kept secret, as it often carries a token")
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    max_alerts: int = Field(0, ge=0, description="at most this many alerts per message; 0: all")
    headers: dict[str, SecretStr] = Field(default_factory=dict)

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


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    common = dict(maps[0])
    for other in maps[1:]:
        common = {k: v for k, v in common.items() if other.get(k) == v}
    return common


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
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": message.external_url,
        "alerts": kept,
    }


class WebhookChannel:
    name = "webhook"
    Settings = WebhookSettings

    def __init__(self, settings: WebhookSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._url = settings.url.get_secret_value()
        self._client = client or httpx.AsyncClient(
            timeout=settings.timeout_seconds, limits=httpx.Limits(max_connections=32, max_keepalive_connections=32)
        )

    async def send(self, message: Message) -> Delivery:
        headers = {k: v.get_secret_value() for k, v in self.settings.headers.items()}
        headers.update({"Content-Type": "application/json", "X-Alert-Handler-Notification": message.key})
        body = orjson.dumps(payload(message, self.settings.max_alerts))
        try:
            answer = await self._client.post(self._url, content=body, headers=headers)
        except httpx.TimeoutException:
            return Delivery.failed("timed out", retry=True)
        except httpx.HTTPError as exc:
            # The exception text can hold the URL (and its token): say only what kind of failure.
            return Delivery.failed(f"connection failed ({type(exc).__name__})", retry=True)
        if answer.is_success:
            return Delivery.sent()
        retry = answer.status_code == 429 or answer.status_code >= 500
        return Delivery.failed(f"HTTP {answer.status_code}: {answer.text[:200]}", retry=retry)

    async def close(self) -> None:
        await self._client.aclose()
