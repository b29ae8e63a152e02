"""What a template sees, built from a `Message` (plain data: no clock, no I/O; `now` is passed).

    message         the Message itself
    status          "firing" or "resolved" (the group's)
    kind            "group" or "escalation"
    receiver        the receiver's name
    group_labels    the labels the group is formed on
    common_labels   labels every alert of the message shares
    alerts          firing then resolved alerts, at most `max_alerts` (None: all)
    firing, resolved  the same, split
    counts          {firing, resolved, total, shown, truncated}: totals before the cut
    merged          how many notifications storm protection merged into this one (1: none)
    external_url    this service's public URL ("" when unset)
    now             the time of rendering (UTC), used by the `since` filter
    language        "en" or "zh"

Each alert has id, fingerprint, status, severity, source, title, description, labels,
annotations, tags, starts_at, ends_at, generator_url and url (its page on this service).
Filters: `since` (how long ago: `5m`, `2h 3m`), `time` (UTC, `2026-03-02 10:00:00 UTC`),
`cut(n)` (at most n characters, with `…`), `pairs` (labels as `k=v, k=v`), `raw`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from alert_handler.channels.base import Message, MessageAlert, common_items


def common_labels(alerts: list[MessageAlert]) -> dict[str, str]:
    return common_items([alert.labels for alert in alerts])


def message_context(
    message: Message, *, now: datetime, language: str = "en", max_alerts: int | None = None, **extra: Any
) -> dict[str, Any]:
    shown = message.alerts if max_alerts is None else message.alerts[: max(max_alerts, 0)]
    firing = shown[: len(message.firing)]
    resolved = shown[len(firing) :]
    total = len(message.alerts)
    return {
        "message": message,
        "status": message.status,
        "kind": message.kind,
        "receiver": message.receiver,
        "group_labels": message.group_labels,
        "common_labels": common_labels(message.alerts),
        "alerts": shown,
        "firing": firing,
        "resolved": resolved,
        "counts": {
            "firing": len(message.firing),
            "resolved": len(message.resolved),
            "total": total,
            "shown": len(shown),
            "truncated": total - len(shown),
        },
        "merged": message.merged,
        "external_url": message.external_url,
        "now": now,
        "language": language,
        **extra,
    }


def format_duration(seconds: float) -> str:
    """`42s`, `5m`, `2h 3m`, `3d 4h`: the two largest units, never negative."""
    left = max(int(seconds), 0)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
        if len(parts) == 2:
            break
    return " ".join(p for p in parts if not p.startswith("0") or len(parts) == 1)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@pass_context
def since(context: Context, value: Any) -> str:
    if not isinstance(value, datetime):
        return ""
    now = context.get("now")
    now = now if isinstance(now, datetime) else datetime.now(UTC)
    return format_duration((_utc(now) - _utc(value)).total_seconds())


def time(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    return _utc(value).strftime(fmt) if isinstance(value, datetime) else ""


def cut(value: Any, length: int = 200) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= length else text[: max(length - 1, 0)] + "…"


def pairs(value: Any) -> str:
    if not isinstance(value, Mapping):
        return ""
    return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))


FILTERS = {"since": since, "time": time, "cut": cut, "pairs": pairs}
