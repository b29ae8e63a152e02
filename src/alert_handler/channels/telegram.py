"""The `telegram` channel: the Bot API's sendMessage with `parse_mode: HTML`, to a chat (and
optionally a forum topic), with link previews off.

The text comes from `message.tg` (Telegram HTML: alert text is escaped, so it cannot form a tag
or a link). Telegram takes at most 4,096 characters after entity parsing: alerts are dropped
from the end ("+N more") until the visible text fits, and only if the message is still too long
is the HTML cut, never inside a tag or entity, with open tags closed.

Telegram answers `{"ok": true, "result": {"message_id": 42, ...}}` or `{"ok": false,
"error_code": ..., "description": ...}`. Retried: timeouts, connection errors, 429 (after
`parameters.retry_after`) and 5xx; not retried: 400 (chat not found, bad HTML, a group that
became a supergroup), 401 (bad token), 403 (bot blocked or removed). The bot token is part of
the URL path and never reaches an error. `reply` is the message id; a later message of the
group that carries it replies to that message.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import ConfigDict, Field, SecretStr, field_validator

from alert_handler.channels import http
from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.templated import Renderer, TemplatedSettings
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates

API_URL = "https://api.telegram.org"
TEXT_MAX = 4096
_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")
_CHAT = re.compile(r"^(-?[0-9]+|@[A-Za-z][A-Za-z0-9_]{3,})$")
_PIECES = re.compile(r"<[^>]*>|&#?[A-Za-z0-9]+;|[^<&]+|[<&]")
HINTS = {
    401: " (check bot_token)",
    403: " (add the bot to the chat, or unblock it)",
}


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


class TelegramSettings(TemplatedSettings):
    # A model error echoes the input (the token) unless told not to.
    model_config = ConfigDict(hide_input_in_errors=True)
    TEMPLATE_CHANNEL = "telegram"
    TEMPLATE_FILES = ("message.tg",)
    MAX_PER_MINUTE = 20  # Telegram: at most 20 messages a minute to one group

    bot_token: SecretStr = Field(description="the token @BotFather gave (123456:ABC-...)")
    chat_id: str = Field(description="the chat: a numeric id (-100... for groups and channels) or @channelname")
    message_thread_id: int | None = Field(None, ge=1, description="a forum topic of the chat")
    api_url: str = Field(API_URL, description="the Bot API's base URL")
    replies: bool = Field(True, description="later messages of a group reply to its first message")
    silent_resolved: bool = Field(False, description="resolved notifications arrive without a sound")
    max_alerts: int = Field(20, ge=1, le=100, description="alerts listed per message, before the length limit")
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.match(value.get_secret_value()):
            raise ValueError("must be a bot token as @BotFather gives it: <digits>:<letters, digits, - and _>")
        return value

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat(cls, value: object) -> str:
        text = str(value).strip() if isinstance(value, int | str) else ""
        if not _CHAT.match(text):
            raise ValueError("must be a numeric chat id (e.g. -1001234567890) or @channelname")
        return text

    @field_validator("api_url")
    @classmethod
    def _api_is_http(cls, value: str) -> str:
        return _http_url(value).rstrip("/")


def _units(text: str) -> int:
    # Telegram measures text in UTF-16 code units (an emoji outside the BMP counts twice).
    return len(text.encode("utf-16-le")) // 2


def visible_length(text: str) -> int:
    """The length of Telegram HTML after entity parsing: tags dropped, entities one character."""
    return _units(html.unescape(re.sub(r"<[^>]*>", "", text)))


def cut_html(text: str, limit: int) -> str:
    """At most `limit` visible characters of Telegram HTML, cut between tags and entities, with
    an ellipsis and the tags still open closed."""
    if visible_length(text) <= limit:
        return text
    room = limit - 1  # one unit for the ellipsis
    kept: list[str] = []
    open_tags: list[str] = []
    for piece in _PIECES.findall(text):
        if piece.startswith("<") and piece.endswith(">") and len(piece) > 2:
            if piece.startswith("</"):
                open_tags = open_tags[:-1]
            else:
                open_tags.append(piece[1:-1].split()[0])
            kept.append(piece)
            continue
        size = visible_length(piece)
        if size > room:
            kept.append(_cut_text(piece, room) if not piece.startswith("&") else "")
            break
        kept.append(piece)
        room -= size
    return "".join(kept) + http.ELLIPSIS + "".join(f"</{tag}>" for tag in reversed(open_tags))


def _cut_text(text: str, room: int) -> str:
    taken = ""
    for char in text:
        room -= _units(char)
        if room < 0:
            break
        taken += char
    return taken


def _fewer(shown: int, size: int, limit: int) -> int:
    return max(shown * limit // size - 1, 0) if shown > 1 else 0


class TelegramChannel:
    name = "telegram"
    Settings = TelegramSettings

    def __init__(
        self, settings: TelegramSettings, client: httpx.AsyncClient | None = None, templates: Templates | None = None
    ) -> None:
        self.settings = settings
        self._renderer = Renderer(settings, templates)
        self._client = client or http.client(settings.timeout_seconds)
        self._token = settings.bot_token.get_secret_value()

    def text(self, message: Message) -> str:
        """The message's HTML, fitted to Telegram's 4,096 characters; raises TemplateError."""
        shown = min(self.settings.max_alerts, len(message.alerts))
        while True:
            context = self._renderer.context(message, max_alerts=shown)
            text = self._renderer.file("message.tg", context).strip()
            size = visible_length(text)
            if size <= TEXT_MAX:
                return text
            if shown == 0:
                return cut_html(text, TEXT_MAX)
            shown = _fewer(shown, size, TEXT_MAX)

    def request(self, message: Message) -> dict[str, Any]:
        settings = self.settings
        chat: int | str = int(settings.chat_id) if settings.chat_id.lstrip("-").isdigit() else settings.chat_id
        body: dict[str, Any] = {
            "chat_id": chat,
            "text": self.text(message),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        if settings.message_thread_id is not None:
            body["message_thread_id"] = settings.message_thread_id
        first = message.thread.get("message_id", "")
        if settings.replies and first.isdigit():
            body["reply_parameters"] = {"message_id": int(first), "allow_sending_without_reply": True}
        if settings.silent_resolved and message.status == "resolved":
            body["disable_notification"] = True
        return body

    def preview(self, message: Message) -> dict[str, str]:
        return {"text": self.text(message)}

    async def send(self, message: Message) -> Delivery:
        try:
            body = self.request(message)
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        return (await self._post(body)).without(self._token)

    async def _post(self, body: dict[str, Any]) -> Delivery:
        url = f"{self.settings.api_url}/bot{self._token}/sendMessage"
        headers = {"Content-Type": "application/json"}
        answer = await http.exchange(self._client, "POST", url, content=orjson.dumps(body), headers=headers)
        if isinstance(answer, Delivery):
            return answer
        found = http.json_body(answer)
        if found is None:
            return http.refused(answer) if not answer.is_success else _no_json(answer)
        result = found.get("result")
        if found.get("ok") is True and isinstance(result, dict) and "message_id" in result:
            return Delivery.sent(reply={"message_id": str(result["message_id"])})
        return _refusal(found, answer)

    async def close(self) -> None:
        await self._client.aclose()


def _no_json(answer: httpx.Response) -> Delivery:
    return Delivery.failed(f"Telegram: HTTP {answer.status_code} without JSON", retry=False)


def _refusal(found: dict[str, Any], answer: httpx.Response) -> Delivery:
    code = found.get("error_code")
    code = code if isinstance(code, int) else answer.status_code
    description = str(found.get("description") or "no description")[:200]
    parameters = found.get("parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    error = f"Telegram {code}: {description}{HINTS.get(code, '')}"
    if isinstance(parameters.get("migrate_to_chat_id"), int):
        error += f" (the group is now a supergroup: set chat_id to {parameters['migrate_to_chat_id']})"
    if code == 429:
        wait = parameters.get("retry_after")
        header = answer.headers.get("Retry-After")
        return Delivery.failed(error, retry=True, retry_after=http.retry_after(str(wait) if wait else header))
    return Delivery.failed(error, retry=code >= 500)
