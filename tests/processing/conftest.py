"""A processing harness: a migrated database, a clock the test moves, a config from YAML text,
and channels that record what they are asked to send (or fail as told)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler import db
from alert_handler.channels.base import ChannelSettings, Delivery, Message
from alert_handler.domain.alert import IngestResult, Status
from alert_handler.ingest.sources.native import NativeAlert
from alert_handler.processing.channel_pool import ChannelPool
from alert_handler.processing.pipeline import Limits, Pipeline, StaticSnapshot
from alert_handler.processing.run import Report, TickState, run_once, tick
from alert_handler.routing.config import parse_config
from alert_handler.store.alert_updates import change_status
from alert_handler.store.alert_writes import store_batch
from alert_handler.store.tables import alerts_table, events_table, notifications_table
from tests.api.conftest import Clock

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


class RecordingSettings(ChannelSettings):
    model_config = ChannelSettings.model_config | {"extra": "allow"}


@dataclass
class Recorder:
    """Every receiver's messages, in order; `failures` makes the next sends of a receiver fail."""

    sent: dict[str, list[Message]] = field(default_factory=dict)
    failures: dict[str, list[Delivery]] = field(default_factory=dict)
    # What a receiver's service answers when it takes a message (a thread handle), per receiver.
    replies: dict[str, dict[str, str]] = field(default_factory=dict)
    # Receivers whose service takes this long to answer (seconds).
    delays: dict[str, float] = field(default_factory=dict)

    def channel(self, _type: str, settings: dict[str, Any], receiver: str) -> RecordingChannel:
        return RecordingChannel(self, receiver, RecordingSettings.model_validate(settings))

    def messages(self, receiver: str) -> list[Message]:
        return self.sent.get(receiver, [])

    def alert_titles(self, receiver: str) -> list[tuple[list[str], list[str]]]:
        return [([a.title for a in m.firing], [a.title for a in m.resolved]) for m in self.messages(receiver)]


class RecordingChannel:
    def __init__(self, recorder: Recorder, receiver: str, settings: RecordingSettings) -> None:
        self.recorder, self.receiver, self.settings = recorder, receiver, settings

    async def send(self, message: Message) -> Delivery:
        await asyncio.sleep(self.recorder.delays.get(self.receiver, 0.0))
        queued = self.recorder.failures.get(self.receiver)
        if queued:
            return queued.pop(0)
        self.recorder.sent.setdefault(self.receiver, []).append(message)
        reply = self.recorder.replies.get(self.receiver)
        return Delivery.sent({**reply, "n": str(len(self.recorder.sent[self.receiver]))} if reply else None)

    async def close(self) -> None:
        return None


class RecordingPool(ChannelPool):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def get(self, config: Any, receiver_name: str) -> Any:
        receiver = config.receiver(receiver_name)
        if receiver is None:
            return None
        return self.recorder.channel(receiver.type, dict(receiver.settings), receiver_name)


@dataclass
class Harness:
    engine: AsyncEngine
    clock: Clock
    recorder: Recorder
    pipeline: Pipeline
    state: TickState = field(default_factory=TickState)

    def configure(self, text: str) -> None:
        snapshot = StaticSnapshot.of(parse_config(yaml.safe_load(text)))
        self.pipeline.snapshot = lambda: snapshot

    async def ingest(self, *alerts: dict[str, Any]) -> list[IngestResult]:
        incoming = [
            NativeAlert.model_validate(a).normalize(
                tenant="default", identity_keys=["host", "service"], actor="test", now=self.clock()
            )
            for a in alerts
        ]
        async with db.write(self.engine) as conn:
            return await store_batch(conn, incoming, self.clock())

    async def acknowledge(self, alert_id: int) -> None:
        async with db.write(self.engine) as conn:
            await change_status(
                conn, tenant="default", alert_id=alert_id, target=Status.ACKNOWLEDGED, actor="ann", note=None,
                now=self.clock(),
            )  # fmt: skip

    async def run(self) -> Report:
        return await run_once(self.pipeline)

    async def tick(self) -> Report:
        return await tick(self.pipeline, self.state)

    async def alert(self, alert_id: int) -> dict[str, Any]:
        async with db.read(self.engine) as conn:
            row = (await conn.execute(select(alerts_table).where(alerts_table.c.id == alert_id))).one()
            return dict(row._mapping)

    async def events(self, alert_id: int) -> list[dict[str, Any]]:
        async with db.read(self.engine) as conn:
            rows = await conn.execute(
                select(events_table).where(events_table.c.alert_id == alert_id).order_by(events_table.c.id)
            )
            return [dict(r._mapping) for r in rows]

    async def notifications(self) -> list[dict[str, Any]]:
        async with db.read(self.engine) as conn:
            rows = await conn.execute(select(notifications_table).order_by(notifications_table.c.id))
            return [dict(r._mapping) for r in rows]


BASIC = """
receivers:
  - {name: pager, type: log}
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
"""


def alert(name: str, *, host: str = "web-1", severity: str = "critical", **extra: Any) -> dict[str, Any]:
    labels = {"alertname": name, "host": host, **extra.pop("labels", {})}
    return {"title": name, "source": "test", "severity": severity, "labels": labels, **extra}


@pytest.fixture
async def harness(engine: AsyncEngine) -> AsyncIterator[Harness]:
    clock, recorder = Clock(T0), Recorder()
    snapshot = StaticSnapshot.of(parse_config(yaml.safe_load(BASIC)))
    limits = Limits(retry_base=timedelta(seconds=10), retry_max=timedelta(minutes=1))
    pipeline = Pipeline(engine, lambda: snapshot, RecordingPool(recorder), clock, limits)
    yield Harness(engine, clock, recorder, pipeline)
