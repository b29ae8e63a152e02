"""Reading a request body with a size limit (413 past it), without trusting Content-Length."""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.types import Message, Receive


async def read_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The whole body from the ASGI `receive`, refusing it as soon as it passes `limit` bytes."""
    too_large = HTTPException(413, f"request body is larger than the limit of {limit} bytes")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPException(400, "the client went away before sending the whole body")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def read_limited(request: Request, limit: int) -> bytes:
    return await read_body(request.receive, request.headers.get("content-length"), limit)
