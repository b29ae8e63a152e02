"""A real HTTP server on loopback for the chat robots' fakes: each request goes to the vendor's
`check` (which answers as the vendor would); a test can also queue answers, or a delay."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.loopback import QuietHandler, loopback


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: httpx.Headers  # case-insensitive, as HTTP's are
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | str
    delivered: bool = False  # the vendor took the message: it reached the group
    headers: dict[str, str] = field(default_factory=dict)


Check = Callable[[Request], Answer]


@dataclass
class RobotServer:
    url: str = ""
    requests: list[Request] = field(default_factory=list)  # every request, as it came
    received: list[Request] = field(default_factory=list)  # those the vendor delivered
    answers: list[Answer] = field(default_factory=list)  # answered in order before `check`
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: Request, check: Check) -> Answer:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.requests.append(request)
            answer = self.answers.pop(0) if self.answers else check(request)
            if answer.delivered:
                self.received.append(request)
        return answer


@contextmanager
def robot_server(check: Check) -> Iterator[RobotServer]:
    server_state = RobotServer()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = server_state.handle(
                Request(parts.path, query, httpx.Headers(list(self.headers.items())), body), check
            )
            text = answer.body if isinstance(answer.body, str) else json.dumps(answer.body, ensure_ascii=False)
            payload = text.encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    with loopback(Handler) as url:
        server_state.url = url
        yield server_state
