"""The API's Celery dispatch: a lone commit's ids go at once; commits close together share a task."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from alert_handler.settings import Settings
from alert_handler.worker import dispatch
from alert_handler.worker.dispatch import CeleryDispatch


class SlowBroker:
    """Stands in for Celery's blocking `send_task`: records each task's ids, taking `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.tasks: list[list[int]] = []
        self.shown: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, *, args: list[list[int]], **options: Any) -> None:
        time.sleep(self.seconds)
        with self.lock:
            self.tasks.append(args[0])
            self.shown.append(options["argsrepr"])


async def _running(broker: SlowBroker) -> CeleryDispatch:
    sender = CeleryDispatch(Settings(broker_url="redis://127.0.0.1:1/0"))
    sender._send = broker  # type: ignore[assignment]
    sender._task = asyncio.create_task(sender._publish_loop())
    return sender


async def _until(condition: Any, timeout: float = 5.0) -> None:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout
        await asyncio.sleep(0.001)


async def test_a_lone_commit_is_published_without_waiting_for_the_linger(monkeypatch: Any) -> None:
    monkeypatch.setattr(dispatch, "_LINGER", 5.0)
    broker = SlowBroker(0.0)
    sender = await _running(broker)
    try:
        for ids in ([1], [2], [3]):
            sender.wake(ids)
            await _until(lambda n=len(broker.tasks): len(broker.tasks) > n, timeout=2.0)
    finally:
        await sender.stop()
    assert broker.tasks == [[1], [2], [3]]


async def test_commits_arriving_while_a_task_is_published_go_out_together() -> None:
    broker = SlowBroker(0.05)
    sender = await _running(broker)
    try:
        sender.wake([1])
        await asyncio.sleep(0.01)  # the first task is on its way to the broker
        for i in range(2, 6):
            sender.wake([i])
        await _until(lambda: sum(len(t) for t in broker.tasks) == 5)
    finally:
        await sender.stop()
    assert broker.tasks == [[1], [2, 3, 4, 5]]


async def test_a_tasks_ids_are_shown_short_to_monitoring() -> None:
    broker = SlowBroker(0.0)
    sender = await _running(broker)
    try:
        sender.wake([1, 2, 3])
        await _until(lambda: len(broker.tasks) == 1)
        sender.wake(list(range(10, 30)))
        await _until(lambda: len(broker.tasks) == 2)
    finally:
        await sender.stop()
    assert broker.shown == ["[[1, 2, 3]]", "[[10, …, 29]] (20 alerts)"]
