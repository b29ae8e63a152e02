"""A fake DingTalk custom robot: checks a request as DingTalk does (path, access_token, the
signature and its one-hour timestamp window, keywords, the JSON shape, the text size) and
answers with DingTalk's bodies: HTTP 200 and `{"errcode": 0, "errmsg": "ok"}` or an errcode."""

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

OK = {"errcode": 0, "errmsg": "ok"}
TOO_FAST = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
BAD_TOKEN = {"errcode": 300001, "errmsg": "token is not exist"}
SIGN_MISMATCH = {
    "errcode": 310000,
    "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
}
KEYWORDS = {
    "errcode": 310000,
    "errmsg": "keywords not in content, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
}
BAD_TIMESTAMP = {"errcode": 310000, "errmsg": "invalid timestamp"}
MISSING = {"errcode": 40035, "errmsg": "缺少参数 json"}
# The size refusal's code is not in DingTalk's documents; what matters is that it is not 0.
TOO_LONG = {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}


def expected_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass
class FakeDingTalk:
    token: str
    secret: str = ""
    keywords: tuple[str, ...] = ()
    per_minute: int = 0  # 0: no rate limit
    server: RobotServer = field(default_factory=RobotServer)

    @property
    def webhook(self) -> str:
        return f"{self.server.url}/robot/send?access_token={self.token}"

    def check(self, request: Request) -> Answer:
        refusal = self._refusal(request)
        return Answer(200, refusal) if refusal else Answer(200, OK, delivered=True)

    def _refusal(self, request: Request) -> dict[str, Any] | None:
        if request.path != "/robot/send" or request.query.get("access_token") != self.token:
            return BAD_TOKEN
        if self.secret and (found := self._signature_refusal(request)):
            return found
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return MISSING
        try:
            body = request.json()
        except ValueError:
            return MISSING
        if not _markdown_shape(body):
            return MISSING
        content = body["markdown"]["title"] + body["markdown"]["text"]
        if self.keywords and not any(k in content for k in self.keywords):
            return KEYWORDS
        if len(body["markdown"]["text"].encode()) >= 20_000:
            return TOO_LONG
        if self.per_minute and len(self.server.received) >= self.per_minute:
            return TOO_FAST
        return None

    def _signature_refusal(self, request: Request) -> dict[str, Any] | None:
        timestamp, signature = request.query.get("timestamp", ""), request.query.get("sign", "")
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3_600_000:
            return BAD_TIMESTAMP
        if not hmac.compare_digest(signature, expected_sign(self.secret, timestamp)):
            return SIGN_MISMATCH
        return None


def _markdown_shape(body: Any) -> bool:
    if not isinstance(body, dict) or body.get("msgtype") != "markdown":
        return False
    markdown, at = body.get("markdown"), body.get("at", {})
    if not isinstance(markdown, dict):
        return False
    if not all(isinstance(markdown.get(k), str) and markdown[k] for k in ("title", "text")):
        return False
    return (
        isinstance(at, dict)
        and all(isinstance(v, str) for v in at.get("atMobiles", []))
        and all(isinstance(v, str) for v in at.get("atUserIds", []))
        and isinstance(at.get("isAtAll", False), bool)
    )


@contextmanager
def fake_dingtalk(token: str = "t0ken", **options: Any) -> Iterator[FakeDingTalk]:
    fake = FakeDingTalk(token, **options)
    with robot_server(fake.check) as server:
        fake.server = server
        yield fake
