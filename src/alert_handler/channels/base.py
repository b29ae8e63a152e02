"""The channel interface: `async send(message) -> Delivery`.

A channel turns one `Message` (a group's firing and resolved alerts for one receiver) into a
call to its service, and answers whether it was delivered and, if not, whether trying again
can help (Alertmanager's `(retry bool, err)`). A channel never raises for a failed delivery,
knows nothing of silences, groups or the database, and never puts a secret in `error`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict


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

    @property
    def alerts(self) -> list[MessageAlert]:
        return [*self.firing, *self.resolved]


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    retry: bool = False
    error: str = ""

    @classmethod
    def sent(cls) -> Delivery:
        return cls(ok=True)

    @classmethod
    def failed(cls, error: str, *, retry: bool) -> Delivery:
        return cls(ok=False, retry=retry, error=error)


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    send_resolved: bool = True


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
