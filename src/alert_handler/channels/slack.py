"""The `slack` channel: Block Kit messages through an incoming webhook (`webhook_url`) or through
the Web API's chat.postMessage with a bot token (`bot_token` and `channel`).

A message is a header block (title.txt), a summary section (summary.slack), one section per
alert (alert.slack, at most `max_alerts`) and a context footer (footer.slack: "+N more", the
link), with `text` as the notification fallback. `.slack` templates escape alert text for
mrkdwn (`&<>`), and every mrkdwn object is `verbatim`, so no mention, link or channel name
forms from alert text. Alerts are dropped from the end ("+N more") until the request is at
most 40 KB; a section longer than Slack's 3,000 characters is cut without breaking an entity.

Success is what Slack documents, read from the body: a webhook's HTTP 200 `ok`, the API's
`{"ok": true, "ts": ...}`. Retried: timeouts, connection errors, 429 (after Retry-After),
5xx, and the API's `ratelimited`, `internal_error`, `fatal_error`, `service_unavailable`,
`request_timeout`; anything else (bad token, unknown or archived channel, bad blocks) is not.
With a bot token, later messages of a group reply in the first one's thread (`reply` holds
its channel and ts); `broadcast_resolved` also shows the resolving reply in the channel.
"""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import orjson
from loguru import logger
from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from alert_handler.channels import http
from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.templated import Renderer, TemplatedSettings
from alert_handler.errors import TemplateError
from alert_handler.settings import Settings as AppSettings
from alert_handler.templates import Templates, escape

API_URL = "https://slack.com/api"
MAX_BLOCKS = 50
HEADER_MAX = 150
SECTION_MAX = 3000
BODY_MAX = 40_000  # bytes: Slack truncates text past 40,000 characters; we stay well under
RETRY_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
HINTS = {
    "invalid_auth": " (check bot_token)",
    "not_authed": " (check bot_token)",
    "token_revoked": " (check bot_token)",
    "account_inactive": " (check bot_token)",
    "missing_scope": " (the app needs the chat:write scope)",
    "not_in_channel": " (invite the app to the channel)",
    "channel_not_found": " (check channel: an ID like C0123ABC, or a #name the app can see)",
    "is_archived": " (the channel is archived)",
}
_SPACE = re.compile(r"\s+")


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


class SlackSettings(TemplatedSettings):
    # A model error echoes the input (the token) unless told not to.
    model_config = ConfigDict(hide_input_in_errors=True)
    TEMPLATE_CHANNEL = "slack"
    TEMPLATE_FILES = ("title.txt", "summary.slack", "alert.slack", "footer.slack")
    MAX_PER_MINUTE = 60  # Slack: about one message a second per webhook or channel

    webhook_url: SecretStr | None = Field(None, description="an incoming webhook URL (kept secret)")
    bot_token: SecretStr | None = Field(None, description="a bot token (xoxb-...), with `channel`")
    channel: str | None = Field(None, min_length=1, max_length=200, description="channel ID (C0123ABC) or #name")
    api_url: str = Field(API_URL, description="the Web API's base URL")
    threads: bool = Field(True, description="bot: later messages of a group reply in the first one's thread")
    broadcast_resolved: bool = Field(False, description="bot: a resolving thread reply is also shown in the channel")
    max_alerts: int = Field(20, ge=1, le=MAX_BLOCKS - 4, description="alerts listed per message (one block each)")
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_is_http(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _http_url(value.get_secret_value())
        return value

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("xoxb-", "xoxp-")):
            raise ValueError("must be a Slack bot token (xoxb-...) or user token (xoxp-...)")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_is_http(cls, value: str) -> str:
        return _http_url(value).rstrip("/")

    @model_validator(mode="after")
    def _one_mode(self) -> SlackSettings:
        if self.webhook_url is not None and self.bot_token is not None:
            raise ValueError("set webhook_url or bot_token (with channel), not both")
        if self.webhook_url is None and self.bot_token is None:
            raise ValueError("set webhook_url (an incoming webhook) or bot_token and channel")
        if self.bot_token is not None and not self.channel:
            raise ValueError("bot_token needs channel (an ID like C0123ABC, or #name)")
        if self.webhook_url is not None and self.channel:
            raise ValueError("channel is for bot_token; an incoming webhook posts to its own channel")
        return self


def one_line(text: str, limit: int) -> str:
    return http.cut_chars(_SPACE.sub(" ", text).strip(), limit)


def cut_mrkdwn(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, never cutting an entity (`&amp;`) or a `<...>` link."""
    if len(text) <= limit:
        return text
    kept = text[: max(limit - len(http.ELLIPSIS), 0)]
    if kept.rfind("<") > kept.rfind(">"):
        kept = kept[: kept.rfind("<")]
    if kept.rfind("&") > kept.rfind(";"):
        kept = kept[: kept.rfind("&")]
    return kept + http.ELLIPSIS


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack does not turn URLs, #channels or @names in it into links and mentions.
    return {"type": "mrkdwn", "text": cut_mrkdwn(text, SECTION_MAX), "verbatim": True}


def blocks(title: str, sections: list[str], footer: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}}]
    found += [{"type": "section", "text": _mrkdwn(text)} for text in sections if text]
    if footer:
        found.append({"type": "context", "elements": [_mrkdwn(footer)]})
    return found[:MAX_BLOCKS]


def _fewer(shown: int, size: int, limit: int) -> int:
    return max(shown * limit // size - 1, 0) if shown > 1 else 0


class SlackChannel:
    name = "slack"
    Settings = SlackSettings

    def __init__(
        self, settings: SlackSettings, client: httpx.AsyncClient | None = None, templates: Templates | None = None
    ) -> None:
        self.settings = settings
        self._renderer = Renderer(settings, templates)
        self._client = client or http.client(settings.timeout_seconds)
        webhook = settings.webhook_url.get_secret_value() if settings.webhook_url else ""
        token = settings.bot_token.get_secret_value() if settings.bot_token else ""
        self._secrets = tuple(s for s in (webhook, urlsplit(webhook).path if webhook else "", token) if s)

    def payload(self, message: Message) -> dict[str, Any]:
        """text, blocks and options, with alerts dropped until it fits; raises TemplateError."""
        shown = min(self.settings.max_alerts, len(message.alerts))
        while True:
            body = self._payload(message, shown)
            size = len(orjson.dumps(body))
            if size <= BODY_MAX or shown == 0:
                return body
            shown = _fewer(shown, size, BODY_MAX)

    def _payload(self, message: Message, shown: int) -> dict[str, Any]:
        render = self._renderer.file
        context = self._renderer.context(message, max_alerts=shown)
        title = one_line(render("title.txt", context), HEADER_MAX) or message.status
        summary = render("summary.slack", context).strip()
        alerts = [render("alert.slack", {**context, "alert": alert}).strip() for alert in context["alerts"]]
        footer = render("footer.slack", context).strip()
        # The title is plain text (for the header); in mrkdwn it must be escaped.
        text = cut_mrkdwn("\n".join(filter(None, [escape.slack(title), summary])), SECTION_MAX)
        return {
            "text": text,
            "blocks": blocks(title, [summary, *alerts], footer),
            "unfurl_links": False,
            "unfurl_media": False,
        }

    def preview(self, message: Message) -> dict[str, str]:
        body = self.payload(message)
        return {"text": body["text"], "body": orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()}

    async def send(self, message: Message) -> Delivery:
        try:
            body = self.payload(message)
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        if self.settings.bot_token is None:
            return (await self._to_webhook(body)).without(*self._secrets)
        return (await self._to_api(body, message)).without(*self._secrets)

    async def _to_webhook(self, body: dict[str, Any]) -> Delivery:
        url = cast(SecretStr, self.settings.webhook_url).get_secret_value()
        answer = await self._post(url, body, {})
        if isinstance(answer, Delivery):
            return _prefixed(answer, "Slack webhook: ")
        if answer.status_code == 200 and answer.text == "ok":
            return Delivery.sent()
        return Delivery.failed(
            f"Slack webhook: HTTP {answer.status_code} without `ok`: {answer.text[:100]!r}", retry=False
        )

    async def _to_api(self, body: dict[str, Any], message: Message) -> Delivery:
        settings = self.settings
        thread = message.thread.get("ts") if settings.threads else None
        channel = (message.thread.get("channel") if thread else None) or settings.channel
        request: dict[str, Any] = {"channel": channel, **body}
        if thread:
            request["thread_ts"] = thread
            if settings.broadcast_resolved and message.status == "resolved":
                request["reply_broadcast"] = True
        token = cast(SecretStr, settings.bot_token).get_secret_value()
        answer = await self._post(f"{settings.api_url}/chat.postMessage", request, {"Authorization": f"Bearer {token}"})
        if isinstance(answer, Delivery):
            return _prefixed(answer, "Slack API: ")
        found = http.json_body(answer)
        if found is None:
            return Delivery.failed(f"Slack API: HTTP {answer.status_code} without JSON", retry=False)
        if found.get("ok") is True and found.get("ts"):
            return Delivery.sent(
                reply={"channel": str(found.get("channel") or request["channel"]), "ts": str(found["ts"])}
            )
        return _api_error(str(found.get("error") or "unknown_error")[:100], answer)

    async def _post(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response | Delivery:
        headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        return await http.request(self._client, "POST", url, content=orjson.dumps(body), headers=headers)

    async def close(self) -> None:
        await self._client.aclose()

    @staticmethod
    def from_env(settings: AppSettings) -> dict[str, Any] | None:
        """SLACK_BOT_TOKEN with SLACK_CHANNEL makes a bot receiver, else SLACK_WEBHOOK_URL a webhook one."""
        token = settings.slack_bot_token.get_secret_value()
        webhook = settings.slack_webhook_url.get_secret_value()
        if token and settings.slack_channel:
            return {"bot_token": token, "channel": settings.slack_channel}
        if token:
            logger.warning("SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not: the bot token is not used")
        return {"webhook_url": webhook} if webhook else None


def _prefixed(delivery: Delivery, prefix: str) -> Delivery:
    return Delivery.failed(prefix + delivery.error, retry=delivery.retry, retry_after=delivery.retry_after)


def _api_error(error: str, answer: httpx.Response) -> Delivery:
    retry = error in RETRY_ERRORS
    wait = http.retry_after(answer.headers.get("Retry-After")) if retry else None
    return Delivery.failed(f"Slack API: {error}{HINTS.get(error, '')}", retry=retry, retry_after=wait)
