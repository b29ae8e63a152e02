"""The `feishu` channel: a Feishu / Lark (飞书) group's custom bot, sent an interactive card.

POST `url` (the bot's Webhook, `https://open.feishu.cn/open-apis/bot/v2/hook/...`)
`{"msg_type": "interactive", "card": {...}}`: a header coloured by the worst firing severity
(green when all resolved), the `title.txt` template as its plain-text title, the `body.lark`
template as `lark_md` (alert text written as character references, as Feishu documents, so
`<at id=all></at>` or a link in an alert shows as text), and a button to the alert's page (one
alert) or to this service. Signed bots (`secret`): `timestamp` (seconds) and `sign` = base64 of
HMAC-SHA256 keyed by f"{timestamp}\\n{secret}" over nothing, in the body. Keyword bots
(`keyword`): added to the text when the templates did not write it. `at_user_ids` are mentioned
on firing alerts, everyone (`at_all`) when one is critical. The body stays within 20 KB.

Feishu answers HTTP 200 with `{"code": 0, "msg": "success"}` (older: `{"StatusCode": 0}`); any
other code failed: 11232 (frequency limited) is retried after a minute; 9499 (bad request),
19001 (param invalid), 19021 (signature), 19022 (IP not allowed), 19024 (keyword) are not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from pydantic import Field, SecretStr, field_validator

from alert_handler.channels import http, robot
from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.email import one_line
from alert_handler.channels.templated import Renderer, TemplatedSettings
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates

MAX_BODY_BYTES = 20_000  # Feishu: a request body of at most 20 KB
TITLE_CHARS = 100
RATE_LIMITED = (11232,)
COLORS = {"critical": "red", "high": "orange", "warning": "yellow", "info": "blue"}
BUTTONS = {"en": ("View the alert", "Open alert-handler"), "zh": ("查看告警详情", "打开 alert-handler")}
_USER_ID = re.compile(r"^[\w-]{1,64}$")


class FeishuSettings(TemplatedSettings):
    MAX_PER_MINUTE = 100  # Feishu takes 100 messages a minute (5 a second) per bot
    TEMPLATE_CHANNEL = "feishu"
    TEMPLATE_FILES = ("title.txt", "body.lark")

    url: SecretStr = Field(description="the bot's Webhook address (it holds the bot's token)")
    secret: SecretStr | None = Field(None, description="the signing secret, when the bot checks signatures")
    keyword: str | None = Field(None, min_length=1, max_length=100, description="a keyword the bot requires")
    at_user_ids: list[str] = Field(default_factory=list, description="open_ids / user_ids to @ on firing alerts")
    at_all: bool = Field(False, description="@ everyone when a firing alert is critical")
    max_alerts: int = Field(20, ge=0, description="at most this many alerts listed; 0: as many as fit")
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _webhook(cls, value: SecretStr) -> SecretStr:
        parts = robot.webhook_parts(value, "bot")
        if not re.search(r"/bot/v2/hook/[^/]+$", parts.path):
            raise ValueError("is not a bot Webhook (…/open-apis/bot/v2/hook/<token>): copy the whole address")
        return value

    @field_validator("keyword")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return robot.one_line_keyword(value)

    @field_validator("at_user_ids")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        for user_id in value:
            if not _USER_ID.match(user_id) or user_id == "all":
                raise ValueError(f"{user_id!r} is not an open_id or user_id (for everyone, set at_all)")
        return value


def sign(secret: str, timestamp: int) -> str:
    """Feishu's signature: base64 of HMAC-SHA256 keyed by "timestamp\\nsecret", of an empty message."""
    return base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


def color(message: Message) -> str:
    """The header's colour: the worst firing severity's, green when nothing fires."""
    if not message.firing:
        return "green"
    worst = message.worst_firing()
    return COLORS[worst.value] if worst else "grey"


class FeishuChannel:
    name = "feishu"
    Settings = FeishuSettings

    def __init__(
        self,
        settings: FeishuSettings,
        client: httpx.AsyncClient | None = None,
        templates: Templates | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._url = settings.url.get_secret_value()
        self._secret = settings.secret.get_secret_value() if settings.secret else ""
        self._renderer = Renderer(settings, templates)
        self._client = client or http.client(settings.timeout_seconds)
        self._clock = clock

    def _tail(self, message: Message) -> str:
        """What follows the templates' text: the @s, and the bot's keyword (when not yet there)."""
        ats = [f"<at id={who}></at>" for who in self.settings.at_user_ids] if robot.mentions_due(message) else []
        if self.settings.at_all and robot.mentions_due(message, ("critical",)):
            ats.append("<at id=all></at>")
        return " ".join(ats)

    def _button(self, message: Message) -> dict[str, Any] | None:
        one, service = BUTTONS.get(self._renderer.language, BUTTONS["en"])
        alerts = message.alerts
        text, url = (one, alerts[0].url) if len(alerts) == 1 and alerts[0].url else (service, message.external_url)
        if not url:
            return None
        kind = "primary" if message.firing else "default"
        button = {"tag": "button", "text": {"tag": "plain_text", "content": text}, "url": url, "type": kind}
        return {"tag": "action", "actions": [button]}

    def card(self, message: Message, title: str, content: str) -> dict[str, Any]:
        elements: list[dict[str, Any]] = [{"tag": "div", "text": {"tag": "lark_md", "content": content}}]
        button = self._button(message)
        if button:
            elements.append(button)
        header = {"title": {"tag": "plain_text", "content": title}, "template": color(message)}
        return {"config": {"wide_screen_mode": True}, "header": header, "elements": elements}

    def _render(self, message: Message, shown: int) -> tuple[str, str]:
        context = self._renderer.context(message, max_alerts=shown)
        title = one_line(self._renderer.file("title.txt", context))[:TITLE_CHARS] or "alert-handler"
        return title, self._renderer.file("body.lark", context).strip()

    def preview(self, message: Message) -> dict[str, str]:
        """The card's title and lark_md text as they would be sent; raises TemplateError."""
        tail, keyword = self._tail(message), self.settings.keyword or ""
        reserve = robot.utf8_size(tail) + robot.utf8_size(keyword) + 200  # and the signature's fields

        def size(made: tuple[str, str]) -> int:
            return len(orjson.dumps(self.card(message, *made))) + reserve

        title, content = robot.fitted(
            lambda shown: self._render(message, shown), size,
            alerts=len(message.alerts), first=self.settings.max_alerts, limit=MAX_BODY_BYTES,
        )  # fmt: skip
        for _ in range(8):  # JSON escaping makes what a cut saves a little uncertain: a few rounds settle it
            over = size((title, content)) - MAX_BODY_BYTES
            if over <= 0:
                break
            content = robot.cut_text(content, max(robot.utf8_size(content) - over, 0))
        tail_parts = [part for part in (tail, keyword if keyword not in content + title else "") if part]
        return {"title": title, "text": "\n".join([content, *tail_parts])}

    def body(self, message: Message) -> bytes:
        shown = self.preview(message)
        body: dict[str, Any] = {"msg_type": "interactive", "card": self.card(message, shown["title"], shown["text"])}
        if self._secret:
            now = int(self._clock())
            body = {"timestamp": str(now), "sign": sign(self._secret, now), **body}
        return orjson.dumps(body)

    async def send(self, message: Message) -> Delivery:
        try:
            body = self.body(message)
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        answer = await http.request(self._client, "POST", self._url, content=body, headers=headers)
        delivery = robot.read_answer(answer, "Feishu", result_code, rate_limited=RATE_LIMITED)
        token = self._url.rstrip("/").rpartition("/")[2]
        return delivery.without(self._url, token, self._secret)

    async def close(self) -> None:
        await self._client.aclose()


def result_code(body: dict[str, Any]) -> tuple[int, str] | None:
    """Feishu's `{"code": 0, "msg": ...}`, or the older `{"StatusCode": 0, "StatusMessage": ...}`."""
    for code_key, text_key in (("code", "msg"), ("StatusCode", "StatusMessage")):
        code = body.get(code_key)
        if isinstance(code, int):
            return code, str(body.get(text_key, ""))
    return None
