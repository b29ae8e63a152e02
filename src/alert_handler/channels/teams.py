"""The `teams` channel: an Adaptive Card posted to a Microsoft Teams Workflows (Power Automate)
webhook, "When a Teams webhook request is received".

The card is the template `card.json` (JSON format: `{{ x }}` prints x as a JSON value), wrapped
in the message envelope Teams wants (`type: message`, one adaptive-card attachment). Teams
renders markdown in TextBlocks, so the shipped cards put every piece of alert text in a
RichTextBlock's TextRuns, which render no markdown: alert text cannot form a link or a format.
Teams takes at most 28 KB: alerts are dropped from the end ("+N more") until the request fits,
and only a card still too large has its longest texts cut.

Delivered: HTTP 202 (Workflows) or 200. A 200 whose body says "Webhook message delivery
failed" (the retired Office 365 connectors answered errors so) is not. Retried: timeouts,
connection errors, 429 (after Retry-After) and 5xx; not retried: any other 4xx (a bad card, a
wrong or disabled workflow). The URL holds the workflow's signature: no error contains it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
from pydantic import ConfigDict, Field, SecretStr, field_validator

from alert_handler.channels import http
from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.templated import Renderer, TemplatedSettings
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
BODY_MAX = 28_000  # bytes: Teams' 28 KB message limit, with a little room
_LEGACY_FAILURE = "webhook message delivery failed"


class TeamsSettings(TemplatedSettings):
    # A model error echoes the input (the signed URL) unless told not to.
    model_config = ConfigDict(hide_input_in_errors=True)
    TEMPLATE_CHANNEL = "teams"
    TEMPLATE_FILES = ("card.json",)
    MAX_PER_MINUTE = 30  # what a channel's readers can follow; Workflows throttle bursts

    url: SecretStr = Field(description="the workflow's HTTP POST URL (secret: it carries the signature)")
    max_alerts: int = Field(20, ge=1, le=100, description="alerts listed per card, before the size limit")
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL (the workflow's HTTP POST URL)")
        return value


def envelope(card: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card}]}


def _size(value: dict[str, Any]) -> int:
    return len(orjson.dumps(value))


def _shorten(value: Any, limit: int) -> Any:
    """`value` with every text longer than `limit` cut (URLs are kept whole: a cut one is useless)."""
    if isinstance(value, dict):
        return {k: v if k == "url" else _shorten(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v, limit) for v in value]
    return http.cut_chars(value, limit) if isinstance(value, str) else value


def _fewer(shown: int, size: int, limit: int) -> int:
    return max(shown * limit // size - 1, 0) if shown > 1 else 0


class TeamsChannel:
    name = "teams"
    Settings = TeamsSettings

    def __init__(
        self, settings: TeamsSettings, client: httpx.AsyncClient | None = None, templates: Templates | None = None
    ) -> None:
        self.settings = settings
        self._renderer = Renderer(settings, templates)
        self._client = client or http.client(settings.timeout_seconds)
        url = settings.url.get_secret_value()
        parts = urlsplit(url)
        signatures = [v for values in parse_qs(parts.query).values() for v in values if len(v) >= 8]
        self._secrets = tuple(s for s in (url, parts.query, parts.path, *signatures) if len(s) > 1)

    def card(self, message: Message, shown: int) -> dict[str, Any]:
        """The card with `shown` alerts; raises TemplateError when the template makes no card."""
        text = self._renderer.file("card.json", self._renderer.context(message, max_alerts=shown))
        try:
            card = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise TemplateError(f"card.json made no valid JSON: {exc}") from None
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
            raise TemplateError('card.json must make an object with "type": "AdaptiveCard"')
        return card

    def payload(self, message: Message) -> dict[str, Any]:
        """The request body, at most 28 KB; raises TemplateError."""
        shown = min(self.settings.max_alerts, len(message.alerts))
        body = envelope(self.card(message, shown))
        while _size(body) > BODY_MAX and shown > 0:
            shown = _fewer(shown, _size(body), BODY_MAX)
            body = envelope(self.card(message, shown))
        limit = 2000
        while _size(body) > BODY_MAX and limit >= 50:
            body = _shorten(body, limit)
            limit //= 2
        return body

    def preview(self, message: Message) -> dict[str, str]:
        return {"body": orjson.dumps(self.payload(message), option=orjson.OPT_INDENT_2).decode()}

    async def send(self, message: Message) -> Delivery:
        try:
            body = orjson.dumps(self.payload(message))
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        url = self.settings.url.get_secret_value()
        answer = await http.request(
            self._client, "POST", url, content=body, headers={"Content-Type": "application/json"}
        )
        return self._scrub(answer if isinstance(answer, Delivery) else _read(answer))

    def _scrub(self, delivery: Delivery) -> Delivery:
        if delivery.ok:
            return delivery
        clean = delivery.without(*self._secrets)
        return Delivery.failed(f"Teams: {clean.error}", retry=clean.retry, retry_after=clean.retry_after)

    async def close(self) -> None:
        await self._client.aclose()


def _read(answer: httpx.Response) -> Delivery:
    """A 2xx: Workflows answer 202; the retired connectors answered errors inside a 200."""
    text = answer.text.strip()
    if answer.status_code not in (200, 202):
        return Delivery.failed(f"HTTP {answer.status_code}: unexpected for a Teams webhook", retry=False)
    if text.lower().startswith(_LEGACY_FAILURE):
        temporary = "HTTP error 429" in text or "HTTP error 5" in text
        return Delivery.failed(f"HTTP {answer.status_code}: {text[:200]}", retry=temporary)
    return Delivery.sent()
