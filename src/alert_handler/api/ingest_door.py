"""The fast door for `POST /api/v1/alerts`, the one route that takes thousands of requests a second.

A plain ASGI middleware that answers it before the router, dependency solving and response
machinery run (they cost as much as the ingest itself). It does what the documented FastAPI
route does, through the same functions (`api.ingest.accept`), and answers errors with the
same bodies (`api.answers`). `INGEST_FAST_PATH=false` sends ingest through the router instead.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from loguru import logger
from starlette.types import ASGIApp, Receive, Scope, Send

from alert_handler.api.answers import error_answer
from alert_handler.api.body import read_body
from alert_handler.api.deps import authenticate
from alert_handler.api.ingest import INGEST_PATH, accept
from alert_handler.api.runtime import Runtime
from alert_handler.security.keys import Scope as KeyScope


class IngestFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != INGEST_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rt: Runtime = scope["app"].state.runtime
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        try:
            principal = await authenticate(rt, headers.get("authorization"), headers.get("x-api-key"), KeyScope.INGEST)
            body = await read_body(receive, headers.get("content-length"), rt.settings.ingest_max_body_bytes)
            content = await accept(rt, principal, body)
        except Exception as exc:
            answer = error_answer(exc, rt.metrics, f"POST {INGEST_PATH}")
            if answer is None:
                logger.opt(exception=exc).error("ingest failed")
                answer = (500, {"detail": "Internal Server Error"}, {})
            status, payload, extra = answer
            await _respond(send, status, orjson.dumps(payload), extra)
            return
        rt.metrics.ingest_latency.observe(time.perf_counter() - started)
        await _respond(send, 200, content, {})


async def _respond(send: Send, status: int, content: bytes, extra: dict[str, Any]) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    headers += [(name.lower().encode("latin-1"), str(value).encode("latin-1")) for name, value in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
