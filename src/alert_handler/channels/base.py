"""The channel interface: `async send(message) -> Delivery`.

A channel turns one `Message` (a group's firing and resolved alerts for one receiver) into a
call to its service, and answers whether it was delivered and, if not, whether trying again
can help (Alertmanager's `(retry bool, err)`). A channel never raises for a failed delivery,
knows nothing of silences, groups or the database, and never puts a secret in `error`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from alert_handler.domain.severity import Severity


@dataclass(frozen=True, slots=True)
class MessageAlert:
    id: int
    fingerprint: str
    status: str
    severity: str
    source: str
    title: str
    description: str
    labels: dict[str, str]
    annotations: dict[str, str]
    tags: list[str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str | None
    url: str = ""


_SEVERITIES = frozenset(s.value for s in Severity)


def common_items(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The pairs every mapping of `maps` has (labels every alert shares); empty for none."""
    if not maps:
        return {}
    common = dict(maps[0])
    for other in maps[1:]:
        common = {k: v for k, v in common.items() if other.get(k) == v}
    return common


@dataclass(frozen=True, slots=True)
class Message:
    """What one receiver is told: `key` is unique per notification (an idempotency key)."""

    key: str
    receiver: str
    kind: str
    status: str
    group_key: str
    group_labels: dict[str, str]
    firing: list[MessageAlert]
    resolved: list[MessageAlert]
    external_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # What the service answered to the first delivered message of this group for this receiver
    # (`Delivery.reply`), so a channel can thread later ones under it; empty for the first.
    thread: dict[str, str] = field(default_factory=dict)
    # More than one notification merged into this message by storm protection: how many.
    merged: int = 1

    @property
    def alerts(self) -> list[MessageAlert]:
        return [*self.firing, *self.resolved]

    @property
    def group_hash(self) -> str:
        """A stable id of this receiver's group (a hash of both), the same for every message of
        the group: the incident key for services that de-duplicate by one (PagerDuty, Opsgenie)."""
        return hashlib.sha256(f"{self.receiver}\x00{self.group_key}".encode()).hexdigest()

    def worst_firing(self) -> Severity | None:
        """The highest severity among the firing alerts; None when none fires."""
        known = [Severity(a.severity) for a in self.firing if a.severity in _SEVERITIES]
        return max(known, key=lambda s: s.rank) if known else None


@dataclass(frozen=True, slots=True)
class Delivery:
    """`retry_after`: seconds the service asked us to wait (HTTP 429 Retry-After, a rate-limit
    error code); the next attempt is not sooner. `reply`: what identifies the delivered message
    at the service (Slack's channel and `ts`), handed back as `Message.thread` to later
    messages of the same group."""

    ok: bool
    retry: bool = False
    error: str = ""
    retry_after: float | None = None
    reply: dict[str, str] = field(default_factory=dict)

    @classmethod
    def sent(cls, reply: dict[str, str] | None = None) -> Delivery:
        return cls(ok=True, reply=reply or {})

    @classmethod
    def failed(cls, error: str, *, retry: bool, retry_after: float | None = None) -> Delivery:
        return cls(ok=False, retry=retry, error=error, retry_after=retry_after)

    def without(self, *secrets: str) -> Delivery:
        """This delivery with none of `secrets` in its error (a service may echo what it was sent,
        an exception may carry the URL)."""
        error = self.error
        for secret in secrets:
            if secret:
                error = error.replace(secret, "***")
        return self if error == self.error else replace(self, error=error)


class ChannelSettings(BaseModel):
    """Settings every channel has. A channel type sets `MAX_PER_MINUTE` to its service's own
    limit (DingTalk: 20) or to what a human reader can take; 0 means no limit."""

    # Settings hold secrets: a validation error never repeats the value it refused.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
    MAX_PER_MINUTE: ClassVar[int] = 0

    send_resolved: bool = True
    max_per_minute: int | None = Field(
        None,
        ge=0,
        description="storm protection: more messages than this in a minute are merged into one digest;"
        " unset: the channel's default, 0: no limit",
    )

    @property
    def per_minute(self) -> int:
        return self.MAX_PER_MINUTE if self.max_per_minute is None else self.max_per_minute


class Channel(Protocol):
    settings: ChannelSettings

    async def send(self, message: Message) -> Delivery: ...

    async def close(self) -> None: ...


@runtime_checkable
class Previewable(Protocol):
    """A channel that can show what it would send (subject, bodies) without sending it; raises
    `alert_handler.errors.TemplateError` when its templates fail."""

    def preview(self, message: Message) -> dict[str, str]: ...


class ChannelType(Protocol):
    """What the registry holds per channel type: its settings model and a factory."""

    name: ClassVar[str]
    Settings: ClassVar[type[ChannelSettings]]

    def __call__(self, settings: Any) -> Channel: ...
