"""What HTTP channels share: one call that turns transport failures and HTTP statuses into a
`Delivery` (never with the URL in the error: it often carries a token), Retry-After read as
the service means it, and cutting text to a service's limit without breaking a character.

A channel calls `request(...)`; it gets the `httpx.Response` when the status was 2xx (the
channel then reads the body: many services say "failed" inside a 200), else a `Delivery`. A
channel whose vendor explains a refusal in the body calls `exchange(...)` and reads any status.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from alert_handler.channels.aiohttp_transport import AiohttpTransport
from alert_handler.channels.base import Delivery

MAX_RETRY_AFTER = 3600.0
# The wait after a rate limit a service counts per minute and did not say how long to wait.
NEXT_MINUTE = 60.0
ELLIPSIS = "…"


class Client(httpx.AsyncClient):
    """httpx's client over aiohttp's pool (`AiohttpTransport`). A channel's request through
    `exchange` skips httpx's request building and goes to aiohttp directly: httpx's own work
    (URL and header models, cookies, auth and redirect hooks) was half of a webhook send's CPU."""

    def __init__(self, timeout_seconds: float) -> None:
        self.transport = AiohttpTransport(max_connections=32)
        super().__init__(timeout=timeout_seconds, transport=self.transport)
        self._default_headers = list(self.headers.multi_items())

    async def direct(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> httpx.Response:
        given = dict(headers or {})
        if auth is not None:
            given.setdefault("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
        named = {k.lower() for k in given}
        sent = [(k, v) for k, v in self._default_headers if k.lower() not in named] + list(given.items())
        body: bytes | Mapping[str, str] | None = content if content is not None else data
        return await self.transport.send(method, url, headers=sent, body=body, timeout=self.timeout)


_DIRECT = frozenset({"content", "data", "headers", "auth"})


def client(timeout_seconds: float) -> Client:
    return Client(timeout_seconds)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), within an hour."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def refused(answer: httpx.Response, what: str = "", *, wait_unless_told: float | None = None) -> Delivery:
    """The Delivery for a non-2xx answer: 408, 429 and 5xx are worth a retry (429 after its
    Retry-After, or `wait_unless_told` seconds for a service whose limits are per minute), other
    4xx are not (the request itself is wrong)."""
    status = answer.status_code
    retry = status in (408, 425, 429) or status >= 500
    text = what or answer.text[:200]
    wait = retry_after(answer.headers.get("Retry-After")) if status in (429, 503) else None
    if status == 429 and wait is None:
        wait = wait_unless_told
    return Delivery.failed(f"HTTP {status}: {text}", retry=retry, retry_after=wait)


async def exchange(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response | Delivery:
    """Send; the Response whatever its status (for a channel that reads the vendor's error body),
    or the Delivery for a timeout or a failed connection."""
    try:
        if isinstance(http, Client) and kwargs.keys() <= _DIRECT:
            return await http.direct(method, url, **kwargs)
        return await http.request(method, url, **kwargs)
    except httpx.TimeoutException:
        return Delivery.failed("timed out", retry=True)
    except httpx.HTTPError as exc:
        # The exception text can hold the URL (and its token): say only what kind of failure.
        return Delivery.failed(f"connection failed ({type(exc).__name__})", retry=True)


async def request(
    http: httpx.AsyncClient, method: str, url: str, *, wait_unless_told: float | None = None, **kwargs: Any
) -> httpx.Response | Delivery:
    """Send; a 2xx Response, or the Delivery that says what went wrong (see `refused`)."""
    answer = await exchange(http, method, url, **kwargs)
    if isinstance(answer, httpx.Response) and not answer.is_success:
        return refused(answer, wait_unless_told=wait_unless_told)
    return answer


def json_body(answer: httpx.Response) -> dict[str, Any] | None:
    """The answer's JSON object, or None when it is not one."""
    try:
        found = answer.json()
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def cut_bytes(text: str, limit: int, marker: str = ELLIPSIS) -> str:
    """`text` in at most `limit` UTF-8 bytes, cut at a character boundary, `marker` at the end
    when it was cut."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    if len(marker.encode()) > limit:
        marker = ""
    room = limit - len(marker.encode())
    return encoded[:room].decode("utf-8", errors="ignore") + marker


def cut_chars(text: str, limit: int, marker: str = ELLIPSIS) -> str:
    """`text` in at most `limit` characters, `marker` at the end when it was cut."""
    if len(text) <= limit:
        return text
    if len(marker) > limit:
        marker = ""
    return text[: limit - len(marker)] + marker
