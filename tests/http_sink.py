"""A real HTTP server on loopback that records requests and answers as a test tells it to."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.loopback import QuietHandler, loopback


@dataclass
class Received:
    path: str
    method: str
    headers: httpx.Headers  # case-insensitive, as HTTP's are
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Sink:
    url: str
    received: list[Received] = field(default_factory=list)
    # Status codes (and bodies) to answer with, in order; then 200.
    answers: list[tuple[int, str]] = field(default_factory=list)
    # Extra headers of the next answers, in order (e.g. Retry-After with a 429).
    answer_headers: list[dict[str, str]] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} requests, got {len(self.received)}")


@contextmanager
def http_sink() -> Iterator[Sink]:
    sink = Sink(url="")

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:
                return  # the sender died mid-request (a killed worker): nothing was delivered
            if sink.delay:
                time.sleep(sink.delay)
            with sink.lock:
                status, text = sink.answers.pop(0) if sink.answers else (200, "ok")
                extra = sink.answer_headers.pop(0) if sink.answer_headers else {}
                if 200 <= status < 300:
                    sink.received.append(
                        Received(self.path, self.command, httpx.Headers(list(self.headers.items())), body)
                    )
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_PUT = do_POST
        do_PATCH = do_POST

    with loopback(Handler) as url:
        sink.url = url
        yield sink
