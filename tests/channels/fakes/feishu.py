"""A fake Feishu / Lark custom bot: checks a request as Feishu does (the hook's token, JSON and
its size, the signature and its one-hour window, keywords, the card's shape) and answers with
Feishu's bodies: HTTP 200 and `{"code": 0, "msg": "success", ...}` or a code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.channels.fakes.robot_server import Answer, Request, RobotServer, robot_server

OK = {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}
BAD_REQUEST = {"code": 9499, "msg": "Bad Request", "data": {}}
BAD_TOKEN = {"code": 19001, "msg": "param invalid: incoming webhook access token invalid", "data": {}}
SIGN_FAIL = {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time", "data": {}}
IP_FAIL = {"code": 19022, "msg": "Ip Not Allowed", "data": {}}
KEYWORDS = {"code": 19024, "msg": "Key Words Not Found", "data": {}}
TOO_FAST = {"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]", "data": {}}
COLORS = {
    "blue",
    "wathet",
    "turquoise",
    "green",
    "yellow",
    "orange",
    "red",
    "carmine",
    "violet",
    "purple",
    "indigo",
    "grey",
}


def expected_sign(secret: str, timestamp: str) -> str:
    return base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


@dataclass
class FakeFeishu:
    token: str
    secret: str = ""
    keywords: tuple[str, ...] = ()
    per_minute: int = 0  # 0: no rate limit
    server: RobotServer = field(default_factory=RobotServer)

    @property
    def webhook(self) -> str:
        return f"{self.server.url}/open-apis/bot/v2/hook/{self.token}"

    def check(self, request: Request) -> Answer:
        if request.path != f"/open-apis/bot/v2/hook/{self.token}":
            return Answer(200, BAD_TOKEN)
        if not request.headers.get("Content-Type", "").startswith("application/json") or len(request.body) > 20 * 1024:
            return Answer(400, BAD_REQUEST)
        try:
            body = request.json()
        except ValueError:
            return Answer(400, BAD_REQUEST)
        refusal = self._refusal(body)
        return Answer(200, refusal) if refusal else Answer(200, OK, delivered=True)

    def _refusal(self, body: Any) -> dict[str, Any] | None:
        if not isinstance(body, dict):
            return BAD_REQUEST
        if self.secret and not self._signed(body):
            return SIGN_FAIL
        if body.get("msg_type") != "interactive" or not isinstance(body.get("card"), dict):
            return BAD_REQUEST
        texts = card_texts(body["card"])
        if texts is None:
            return BAD_REQUEST
        if self.keywords and not any(k in "\n".join(texts) for k in self.keywords):
            return KEYWORDS
        if self.per_minute and len(self.server.received) >= self.per_minute:
            return TOO_FAST
        return None

    def _signed(self, body: dict[str, Any]) -> bool:
        timestamp, signature = body.get("timestamp"), body.get("sign")
        if not isinstance(timestamp, str) or not timestamp.isdigit() or not isinstance(signature, str):
            return False
        if abs(time.time() - int(timestamp)) > 3600:
            return False
        return hmac.compare_digest(signature, expected_sign(self.secret, timestamp))


def card_texts(card: dict[str, Any]) -> list[str] | None:
    """The card's texts (title, lark_md, buttons), or None when the card is not well formed."""
    header, elements = card.get("header"), card.get("elements")
    if not isinstance(header, dict) or not isinstance(elements, list) or not elements:
        return None
    title = header.get("title")
    if not _text(title, ("plain_text",)) or header.get("template", "blue") not in COLORS:
        return None
    texts = [title["content"]]
    for element in elements:
        found = _element_texts(element)
        if found is None:
            return None
        texts += found
    return texts


def _element_texts(element: Any) -> list[str] | None:
    if (
        isinstance(element, dict)
        and element.get("tag") == "div"
        and _text(element.get("text"), ("lark_md", "plain_text"))
    ):
        return [element["text"]["content"]]
    if not isinstance(element, dict) or element.get("tag") != "action" or not isinstance(element.get("actions"), list):
        return None
    texts = []
    for button in element["actions"]:
        if (
            not isinstance(button, dict)
            or button.get("tag") != "button"
            or not _text(button.get("text"), ("plain_text",))
        ):
            return None
        if not str(button.get("url", "")).startswith(("http://", "https://")) or button.get("type") not in (
            "default", "primary", "danger",
        ):  # fmt: skip
            return None
        texts.append(button["text"]["content"])
    return texts


def _text(value: Any, tags: tuple[str, ...]) -> bool:
    return isinstance(value, dict) and value.get("tag") in tags and isinstance(value.get("content"), str)


@contextmanager
def fake_feishu(token: str = "h00k-t0ken", **options: Any) -> Iterator[FakeFeishu]:
    fake = FakeFeishu(token, **options)
    with robot_server(fake.check) as server:
        fake.server = server
        yield fake
