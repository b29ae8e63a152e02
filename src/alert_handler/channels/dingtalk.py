"""The `dingtalk` channel: a DingTalk (钉钉) group's custom robot, sent a markdown message.

POST `url` (the robot's Webhook, `https://oapi.dingtalk.com/robot/send?access_token=...`)
`{"msgtype": "markdown", "markdown": {"title", "text"}, "at": {...}}`. Security settings the
robot may have: signed requests (`secret`, "SEC..."): `&timestamp=<ms>&sign=<base64 of
HMAC-SHA256(secret, f"{timestamp}\\n{secret}")>` added to the URL; keywords (`keyword`): the
text must contain one, so it is added when the templates did not write it; an IP allow-list.

Title and text come from templates (`title.txt`, `text.dingtalk`); alert text in the markdown
is written as character references, so it shows as written. The text is kept under 20,000
bytes by listing fewer alerts ("+N more"), then by cutting. People named in `at_mobiles` /
`at_user_ids` are mentioned (their `@` is added to the text, as DingTalk needs) on messages with
firing alerts; `at_all` mentions everyone when one of them is critical.

DingTalk answers HTTP 200 with `{"errcode": 0, "errmsg": "ok"}`; any other errcode failed:
130101 / 410100 / 660026 (sending too fast) are retried after a minute, -1 (busy) at once;
310000 (keyword missing, bad signature, IP not allowed), 300001 / 400xxx (token, robot,
message) are not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import orjson
from pydantic import Field, SecretStr, field_validator

from alert_handler.channels import http, robot
from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.email import one_line
from alert_handler.channels.templated import Renderer, TemplatedSettings
from alert_handler.errors import TemplateError
from alert_handler.settings import Settings as AppSettings
from alert_handler.templates import Templates

MAX_TEXT_BYTES = 19_500  # DingTalk's markdown text: under 20,000 bytes
TITLE_CHARS = 100
RATE_LIMITED = (130101, 410100, 660026)
_MOBILE = r"^\+?[0-9][0-9-]{4,19}$"
_USER_ID = r"^[\w.@-]{1,64}$"


class DingTalkSettings(TemplatedSettings):
    MAX_PER_MINUTE = 20  # DingTalk takes 20 messages a minute per robot
    TEMPLATE_CHANNEL = "dingtalk"
    TEMPLATE_FILES = ("title.txt", "text.dingtalk")

    url: SecretStr = Field(description="the robot's Webhook address, with its access_token")
    secret: SecretStr | None = Field(None, description='the signing secret ("SEC..."), when the robot signs')
    keyword: str | None = Field(None, min_length=1, max_length=100, description="a keyword the robot requires")
    at_mobiles: list[str] = Field(default_factory=list, description="mobiles to @ on firing alerts")
    at_user_ids: list[str] = Field(default_factory=list, description="DingTalk user ids to @ on firing alerts")
    at_all: bool = Field(False, description="@ everyone when a firing alert is critical")
    max_alerts: int = Field(20, ge=0, description="at most this many alerts listed; 0: as many as fit")
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _webhook(cls, value: SecretStr) -> SecretStr:
        parts = robot.webhook_parts(value, "robot")
        if not parse_qs(parts.query).get("access_token"):
            raise ValueError("has no access_token: copy the robot's whole Webhook address")
        return value

    @field_validator("secret")
    @classmethod
    def _sec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("SEC"):
            raise ValueError('is not a DingTalk signing secret (they start with "SEC")')
        return value

    @field_validator("keyword")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return robot.one_line_keyword(value)

    @field_validator("at_mobiles")
    @classmethod
    def _mobiles(cls, value: list[str]) -> list[str]:
        return [_matching(v, _MOBILE, "a mobile number") for v in value]

    @field_validator("at_user_ids")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        return [_matching(v, _USER_ID, "a DingTalk user id") for v in value]


def _matching(value: str, pattern: str, what: str) -> str:
    if not re.match(pattern, value.strip()):
        raise ValueError(f"{value!r} is not {what}")
    return value.strip()


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64 of HMAC-SHA256 keyed by the secret over "timestamp\\nsecret"."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalkChannel:
    name = "dingtalk"
    Settings = DingTalkSettings

    def __init__(
        self,
        settings: DingTalkSettings,
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

    def mentions(self, message: Message) -> dict[str, Any]:
        """The `at` of the request: people only for firing alerts, everyone for critical ones."""
        if not robot.mentions_due(message):
            return {"atMobiles": [], "atUserIds": [], "isAtAll": False}
        everyone = self.settings.at_all and robot.mentions_due(message, ("critical",))
        return {"atMobiles": self.settings.at_mobiles, "atUserIds": self.settings.at_user_ids, "isAtAll": everyone}

    def _render(self, message: Message, shown: int) -> tuple[str, str]:
        context = self._renderer.context(message, max_alerts=shown)
        return self._renderer.file("title.txt", context), self._renderer.file("text.dingtalk", context)

    def preview(self, message: Message) -> dict[str, str]:
        """The markdown title and text as they would be sent; raises TemplateError."""
        at = self.mentions(message)
        # DingTalk notifies only people whose @ is in the text; a keyword robot needs its word.
        ats = " ".join(f"@{who}" for who in [*at["atMobiles"], *at["atUserIds"]])
        keyword = self.settings.keyword or ""
        room = MAX_TEXT_BYTES - robot.utf8_size(ats) - robot.utf8_size(keyword) - 4
        title, text = robot.fitted(
            lambda shown: self._render(message, shown), lambda made: robot.utf8_size(made[1]),
            alerts=len(message.alerts), first=self.settings.max_alerts, limit=room,
        )  # fmt: skip
        text = robot.cut_text(text.strip(), room)
        title = one_line(title)[:TITLE_CHARS] or "alert-handler"
        tail = [part for part in (ats, keyword if keyword not in text else "") if part]
        return {"title": title, "text": "\n\n".join([text, *tail])}

    def body(self, message: Message) -> bytes:
        parts = self.preview(message)
        markdown = {"title": parts["title"], "text": parts["text"]}
        return orjson.dumps({"msgtype": "markdown", "markdown": markdown, "at": self.mentions(message)})

    def _signed_url(self) -> str:
        if not self._secret:
            return self._url
        now = int(self._clock() * 1000)
        return f"{self._url}&timestamp={now}&sign={quote_plus(sign(self._secret, now))}"

    async def send(self, message: Message) -> Delivery:
        try:
            body = self.body(message)
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        url = self._signed_url()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        answer = await http.request(self._client, "POST", url, content=body, headers=headers)
        delivery = robot.read_answer(answer, "DingTalk", robot.errcode, rate_limited=RATE_LIMITED, busy=(-1,))
        return delivery.without(self._url, url, self._secret, _token(self._url))

    async def close(self) -> None:
        await self._client.aclose()

    @staticmethod
    def from_env(settings: AppSettings) -> dict[str, Any] | None:
        """The `dingtalk` receiver of DINGTALK_WEBHOOK_URL (and DINGTALK_SECRET); None without a URL."""
        url = settings.dingtalk_webhook_url.get_secret_value()
        if not url:
            return None
        secret = settings.dingtalk_secret.get_secret_value()
        return {"url": url, **({"secret": secret} if secret else {})}


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query).get("access_token", [""])[0]
