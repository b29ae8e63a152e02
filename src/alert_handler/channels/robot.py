"""What the Chinese chat robots (DingTalk, WeCom, Feishu) share: a rendering fitted to the
service's size limit by listing fewer alerts (the templates then say "+N more"), a last-resort
cut that keeps whole lines and never splits a character or a character reference, and the
service's own error code, read from a 200 answer, turned into a `Delivery`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit

import httpx
from pydantic import SecretStr

from alert_handler.channels import http
from alert_handler.channels.base import Delivery, Message

T = TypeVar("T")
_PARTIAL_REFERENCE = re.compile(r"&#?\w*$")


def fitted(render: Callable[[int], T], measure: Callable[[T], int], *, alerts: int, first: int, limit: int) -> T:
    """The rendering listing the most alerts (at most `first`, 0: all) that measures at most
    `limit`; with one alert left, that one however big (the caller cuts it)."""
    shown = min(first or alerts, alerts)
    while True:
        made = render(shown)
        size = measure(made)
        if size <= limit or shown <= 1:
            return made
        shown = max(min(shown - 1, shown * limit // size), 1)


def utf8_size(text: str) -> int:
    return len(text.encode())


def cut_text(text: str, limit: int) -> str:
    """`text` in at most `limit` UTF-8 bytes: cut after a whole line when that keeps at least
    half, else at a character boundary, never inside `&#42;`; `…` marks the cut."""
    if utf8_size(text) <= limit:
        return text
    head = http.cut_bytes(text, limit - utf8_size(http.ELLIPSIS), marker="")
    line_end = head.rfind("\n")
    if line_end >= len(head) // 2:
        head = head[: line_end + 1]
    return _PARTIAL_REFERENCE.sub("", head) + http.ELLIPSIS


def mentions_due(message: Message, severities: Collection[str] | None = None) -> bool:
    """Whether a message calls for people: it has firing alerts (of one of `severities`)."""
    return any(severities is None or alert.severity in severities for alert in message.firing)


def read_answer(
    answer: httpx.Response | Delivery,
    service: str,
    code_of: Callable[[dict[str, Any]], tuple[int, str] | None],
    *,
    rate_limited: Collection[int],
    busy: Collection[int] = (),
) -> Delivery:
    """The Delivery for a robot's answer: its code 0 is delivered; a rate-limit code is retried
    after a minute, a busy code at once; any other code is the request's or the robot's fault."""
    if isinstance(answer, Delivery):
        return answer
    body = http.json_body(answer)
    found = code_of(body) if body is not None else None
    if found is None:
        return Delivery.failed(f"{service} answered HTTP {answer.status_code} without its result code", retry=False)
    code, text = found
    if code == 0:
        return Delivery.sent()
    error = f"{service} error {code}: {text[:200]}"
    if code in rate_limited:
        return Delivery.failed(error, retry=True, retry_after=http.NEXT_MINUTE)
    return Delivery.failed(error, retry=code in busy)


def errcode(body: dict[str, Any]) -> tuple[int, str] | None:
    """DingTalk's and WeCom's `{"errcode": 0, "errmsg": "ok"}`."""
    code = body.get("errcode")
    return (code, str(body.get("errmsg", ""))) if isinstance(code, int) else None


def webhook_parts(value: SecretStr, what: str) -> SplitResult:
    """A robot's Webhook address, split; a ValueError (for a settings validator) when it is no
    http(s) URL. `what` names it in the message ("robot", "bot")."""
    parts = urlsplit(value.get_secret_value())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be the {what}'s Webhook, an https:// URL")
    return parts


def one_line_keyword(value: str | None) -> str | None:
    """A robot's security keyword: one word or phrase on one line (for a settings validator)."""
    if value is not None and (not value.strip() or "\n" in value):
        raise ValueError("must be one word or phrase on one line")
    return value
