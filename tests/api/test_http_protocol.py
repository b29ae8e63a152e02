"""The HTTP protocol `alert-handler serve` runs: a response's writes leave together, and nothing is lost."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import uvicorn

from alert_handler.api.http_protocol import CoalescingHttpToolsProtocol, CoalescingTransport
from tests.conftest import free_port


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.sent.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


async def test_writes_of_one_turn_of_the_loop_are_sent_at_once() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real)
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(memoryview(b"body"))
    assert real.sent == []
    await asyncio.sleep(0)
    assert real.sent == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"later")
    await asyncio.sleep(0)
    assert real.sent[-1] == b"later"
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)


async def test_close_sends_what_is_pending_first_and_a_closed_transport_gets_nothing() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real)
    transport.write(b"last words")
    transport.close()
    assert (real.sent, real.closed) == ([b"last words"], True)
    transport.write(b"after close")
    await asyncio.sleep(0)
    assert real.sent == [b"last words"]


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(3):
            await send({"type": "http.response.body", "body": f"part {i}\n".encode(), "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    answer = b'{"echo": ' + str(len(body)).encode() + b"}"
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


async def test_a_real_server_answers_keep_alive_concurrent_and_streamed_requests() -> None:
    port = free_port()
    config = uvicorn.Config(_app, host="127.0.0.1", port=port, http=CoalescingHttpToolsProtocol, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            answers = await asyncio.gather(*(client.post("/x", content=b"a" * i) for i in range(50)))
            assert [(a.status_code, a.json()["echo"]) for a in answers] == [(201, i) for i in range(50)]
            again = await client.post("/x", content=b"abc")  # the same pooled connections again
            assert again.json() == {"echo": 3}
            async with client.stream("GET", "/stream") as streamed:
                lines = [line async for line in streamed.aiter_lines()]
            assert lines == ["part 0", "part 1", "part 2"]
    finally:
        server.should_exit = True
        await serving
