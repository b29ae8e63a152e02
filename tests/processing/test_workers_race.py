"""Several workers on one database: every alert processed, every notification decided and sent once."""

from __future__ import annotations

import asyncio
from collections import Counter

from alert_handler.db import create_engine
from alert_handler.processing.pipeline import Pipeline
from alert_handler.processing.run import TickState, run_once, tick
from tests.processing.conftest import Harness, RecordingPool, alert

MANY_GROUPS = """
receivers: [{name: pager, type: log}]
route: {receiver: pager, group_by: [alertname], group_wait: 0s, group_interval: 1m}
"""


async def test_racing_workers_send_each_group_once(harness: Harness, database_url: str) -> None:
    harness.configure(MANY_GROUPS)
    engines = [create_engine(database_url) for _ in range(3)]
    pipelines = [
        Pipeline(e, harness.pipeline.snapshot, RecordingPool(harness.recorder), harness.clock, harness.pipeline.limits)
        for e in engines
    ]
    try:
        for round_ in range(5):
            await harness.ingest(*[alert(f"A{g}", host=f"h{round_}-{i}") for g in range(8) for i in range(5)])
            await asyncio.gather(*(run_once(p) for p in pipelines for _ in range(2)))
            await asyncio.gather(*(tick(p, TickState()) for p in pipelines))
            harness.clock.advance(minutes=1)
            await asyncio.gather(*(tick(p, TickState()) for p in pipelines for _ in range(2)))
    finally:
        for engine in engines:
            await engine.dispose()
    messages = harness.recorder.messages("pager")
    per_group = Counter(m.group_labels["alertname"] for m in messages)
    # One message per group per change. When a new group's first alerts are split between two
    # workers, the first flushes what it has and the rest follow a group_interval later, as in
    # Alertmanager: one more message for that group, never a repeat of the same content.
    assert set(per_group) == {f"A{g}" for g in range(8)}
    assert all(5 <= n <= 6 for n in per_group.values()), per_group
    contents = [(m.group_labels["alertname"], tuple(sorted(a.id for a in m.firing))) for m in messages]
    assert len(set(contents)) == len(contents), "the same content twice"
    firing_seen = Counter(a.id for m in messages for a in m.firing)
    assert len(firing_seen) == 200
    assert len({m.key for m in messages}) == len(messages)
    rows = await harness.notifications()
    assert {r["status"] for r in rows} == {"sent"} and len(rows) == len(messages)
