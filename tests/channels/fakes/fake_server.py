"""A real HTTP server on loopback that plays a chat vendor's API: a subclass of `FakeVendor`
checks each request as the vendor does and answers with the vendor's bodies.

`answers` queues canned answers (status, headers, body) that replace the next checks, so a test
can make the vendor refuse; `delivered` holds what the vendor accepted; `delay` makes it slow.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar

import httpx

from tests.loopback import QuietHandler, loopback


@dataclass
class Request:
    method: str
    path: str
    headers: httpx.Headers  # case-insensitive, as HTTP's are
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, status: int, value: Any, **headers: str) -> Answer:
        return cls(status, json.dumps(value).encode(), {"Content-Type": "application/json", **headers})

    @classmethod
    def of_text(cls, status: int, text: str, **headers: str) -> Answer:
        return cls(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8", **headers})


@dataclass
class FakeVendor:
    url: str = ""
    answers: list[Answer] = field(default_factory=list)
    delivered: list[Request] = field(default_factory=list)
    refused: list[tuple[Request, Answer]] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, request: Request) -> Answer | None:
        """The vendor's answer to a request it refuses, or None when it accepts it."""
        raise NotImplementedError

    def accept(self, request: Request) -> Answer:
        """The vendor's answer to a request it accepted (called with the lock held)."""
        raise NotImplementedError

    def answer(self, request: Request) -> Answer:
        with self.lock:
            found = self.answers.pop(0) if self.answers else self.check(request)
            if found is None:
                self.delivered.append(request)
                return self.accept(request)
            self.refused.append((request, found))
            return found


def _handler(fake: FakeVendor) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if fake.delay:
                time.sleep(fake.delay)
            found = fake.answer(Request(self.command, self.path, httpx.Headers(list(self.headers.items())), body))
            self.send_response(found.status)
            for name, value in found.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(found.body)))
            self.end_headers()
            self.wfile.write(found.body)

        do_GET = do_POST

    return Handler


Fake = TypeVar("Fake", bound=FakeVendor)


@contextmanager
def serving(fake: Fake) -> Iterator[Fake]:
    with loopback(_handler(fake)) as url:
        fake.url = url
        yield fake
