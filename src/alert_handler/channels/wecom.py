"""The `wecom` channel: a WeCom (企业微信) group robot, sent a markdown message.

POST `url` (the robot's Webhook, `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...`)
`{"msgtype": "markdown", "markdown": {"content": ...}}`. The content comes from a template
(`content.wecom`); alert text in it is written as character references, so it shows as written.
WeCom takes at most 4096 bytes (UTF-8) of content: fewer alerts are listed ("+N more"), then
the content is cut at a character (never inside one). `mentioned_user_ids` are mentioned as
`<@userid>` (markdown has no `mentioned_mobile_list`) on messages with firing alerts.

WeCom answers HTTP 200 with `{"errcode": 0, "errmsg": "ok"}`; any other errcode failed: 45009
(api freq out of limit) is retried after a minute, -1 (busy) at once; 93000 (invalid webhook
URL), 40008 (message type), 44004 (empty content), 40058 (bad parameter) are not.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
from pydantic import Field, SecretStr, field_validator

from alert_handler.channels import http, robot
from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.templated import Renderer, TemplatedSettings
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates

MAX_CONTENT_BYTES = 4096
RATE_LIMITED = (45009,)
_USER_ID = re.compile(r"^[\w.@-]{1,64}$")


class WeComSettings(TemplatedSettings):
    MAX_PER_MINUTE = 20  # WeCom takes 20 messages a minute per robot
    TEMPLATE_CHANNEL = "wecom"
    TEMPLATE_FILES = ("content.wecom",)

    url: SecretStr = Field(description="the robot's Webhook address, with its key")
    mentioned_user_ids: list[str] = Field(default_factory=list, description="WeCom user ids to @ on firing alerts")
    max_alerts: int = Field(10, ge=0, description="at most this many alerts listed; 0: as many as fit")
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _webhook(cls, value: SecretStr) -> SecretStr:
        parts = robot.webhook_parts(value, "robot")
        if not parse_qs(parts.query).get("key"):
            raise ValueError("has no key: copy the robot's whole Webhook address")
        return value

    @field_validator("mentioned_user_ids")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        for user_id in value:
            if not _USER_ID.match(user_id):
                raise ValueError(f"{user_id!r} is not a WeCom user id (letters, digits, _ . @ -)")
        return value


class WeComChannel:
    name = "wecom"
    Settings = WeComSettings

    def __init__(
        self, settings: WeComSettings, client: httpx.AsyncClient | None = None, templates: Templates | None = None
    ) -> None:
        self.settings = settings
        self._url = settings.url.get_secret_value()
        self._renderer = Renderer(settings, templates)
        self._client = client or http.client(settings.timeout_seconds)

    def preview(self, message: Message) -> dict[str, str]:
        """The markdown content as it would be sent; raises TemplateError."""
        due = robot.mentions_due(message)
        mentions = " ".join(f"<@{who}>" for who in self.settings.mentioned_user_ids) if due else ""
        room = MAX_CONTENT_BYTES - (robot.utf8_size(mentions) + 2 if mentions else 0)

        def render(shown: int) -> str:
            return self._renderer.file("content.wecom", self._renderer.context(message, max_alerts=shown)).strip()

        content = robot.fitted(
            render, robot.utf8_size, alerts=len(message.alerts), first=self.settings.max_alerts, limit=room
        )
        content = robot.cut_text(content, room)
        return {"content": f"{content}\n\n{mentions}" if mentions else content}

    async def send(self, message: Message) -> Delivery:
        try:
            content = self.preview(message)["content"]
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        body = orjson.dumps({"msgtype": "markdown", "markdown": {"content": content}})
        headers = {"Content-Type": "application/json; charset=utf-8"}
        answer = await http.request(self._client, "POST", self._url, content=body, headers=headers)
        delivery = robot.read_answer(answer, "WeCom", robot.errcode, rate_limited=RATE_LIMITED, busy=(-1,))
        key = parse_qs(urlsplit(self._url).query).get("key", [""])[0]
        return delivery.without(self._url, key)

    async def close(self) -> None:
        await self._client.aclose()
