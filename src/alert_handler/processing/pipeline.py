"""What every processing step needs, built once per process (API or Celery worker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler.processing.breaker import Breakers
from alert_handler.processing.channel_pool import ChannelPool
from alert_handler.processing.storm import LocalWindow
from alert_handler.routing.models import Config
from alert_handler.routing.tree import Route
from alert_handler.settings import Settings


class Snapshot(Protocol):
    """The configuration in force (see routing/live.py)."""

    @property
    def config(self) -> Config: ...

    @property
    def tree(self) -> Route: ...


class SendStats(Protocol):
    """Where each send is counted (`alert_handler.metrics.Metrics` has it)."""

    def observe_send(self, channel: str, receiver: str, outcome: str, seconds: float) -> None: ...


@dataclass(frozen=True, slots=True)
class Limits:
    batch: int = 500
    lease: timedelta = timedelta(seconds=60)
    notify_deadline: timedelta = timedelta(hours=1)
    retry_base: timedelta = timedelta(seconds=1)
    retry_max: timedelta = timedelta(minutes=5)
    retention: timedelta = timedelta(hours=120)


@dataclass(slots=True)
class Pipeline:
    engine: AsyncEngine
    snapshot: Callable[[], Snapshot]
    channels: ChannelPool
    clock: Callable[[], datetime]
    limits: Limits = field(default_factory=Limits)
    external_url: str = ""
    window: LocalWindow = field(default_factory=LocalWindow)
    breakers: Breakers = field(default_factory=Breakers)
    stats: SendStats | None = None


@dataclass(frozen=True, slots=True)
class StaticSnapshot:
    """A configuration that does not change (tests, one-off commands)."""

    config: Config
    tree: Route

    @classmethod
    def of(cls, config: Config) -> StaticSnapshot:
        return cls(config, Route.build(config.route))


def limits_from(settings: Settings) -> Limits:
    return Limits(
        batch=settings.processing_batch,
        lease=timedelta(seconds=settings.notify_lease_seconds),
        notify_deadline=timedelta(seconds=settings.notify_deadline_seconds),
        retention=timedelta(hours=settings.notification_retention_hours),
    )
