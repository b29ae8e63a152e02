"""A fake WeCom group robot: checks a request as WeCom does (path and key, JSON, msgtype, the
content present and at most 4096 bytes, 20 a minute) and answers with WeCom's bodies: HTTP 200
and `{"errcode": 0, "errmsg": "ok"}` or an errcode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.channels.fakes.robot_server import Answer, Request, RobotServer, robot_server

HINT = (
    ", hint: [1700000000_1_abcdef], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e="
)
OK = {"errcode": 0, "errmsg": "ok"}
BAD_URL = {"errcode": 93000, "errmsg": "invalid webhook url" + HINT + "93000"}
NOT_JSON = {"errcode": 40035, "errmsg": "invalid json" + HINT + "40035"}
BAD_TYPE = {"errcode": 40008, "errmsg": "invalid message type" + HINT + "40008"}
EMPTY = {"errcode": 44004, "errmsg": "empty content" + HINT + "44004"}
TOO_LONG = {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096" + HINT + "40058"}
TOO_FAST = {"errcode": 45009, "errmsg": "api freq out of limit" + HINT + "45009"}


@dataclass
class FakeWeCom:
    key: str
    per_minute: int = 0  # 0: no rate limit
    server: RobotServer = field(default_factory=RobotServer)

    @property
    def webhook(self) -> str:
        return f"{self.server.url}/cgi-bin/webhook/send?key={self.key}"

    def check(self, request: Request) -> Answer:
        refusal = self._refusal(request)
        return Answer(200, refusal) if refusal else Answer(200, OK, delivered=True)

    def _refusal(self, request: Request) -> dict[str, Any] | None:
        if request.path != "/cgi-bin/webhook/send" or request.query.get("key") != self.key:
            return BAD_URL
        try:
            body = request.json()
        except ValueError:
            return NOT_JSON
        if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown", "markdown_v2"):
            return BAD_TYPE
        section = body.get(body["msgtype"])
        content = section.get("content") if isinstance(section, dict) else None
        if not isinstance(content, str) or not content.strip():
            return EMPTY
        if len(content.encode()) > 4096:
            return TOO_LONG
        if self.per_minute and len(self.server.received) >= self.per_minute:
            return TOO_FAST
        return None


@contextmanager
def fake_wecom(key: str = "k3y", **options: Any) -> Iterator[FakeWeCom]:
    fake = FakeWeCom(key, **options)
    with robot_server(fake.check) as server:
        fake.server = server
        yield fake
