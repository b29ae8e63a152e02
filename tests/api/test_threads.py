"""Threads end to end: the embedded worker posts a group's first message through Slack's
chat.postMessage (a fake Slack that answers as Slack does), remembers its `ts`, and posts the
group's later messages in that thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.api.conftest import ingest
from tests.channels.fakes.fake_server import serving
from tests.channels.fakes.slack import BOT_TOKEN, CHANNEL_ID, FakeSlack
from tests.conftest import Api, make_api

CONFIG = """
receivers:
  - name: ops-slack
    type: slack
    settings: {{bot_token: "{token}", channel: "{channel}", api_url: "{api_url}"}}
route:
  receiver: ops-slack
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
"""


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with serving(FakeSlack()) as fake:
        yield fake


@pytest.fixture
async def api(database_url: str, slack: FakeSlack, tmp_path: Path) -> AsyncIterator[Api]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(token=BOT_TOKEN, channel=CHANNEL_ID, api_url=slack.api_url))
    async for made in make_api(
        database_url, worker_mode="embedded", config_file=str(config), scheduler_tick_seconds=0.2
    ):
        yield made


async def _posted(slack: FakeSlack, count: int) -> list[dict[str, object]]:
    for _ in range(200):
        if len(slack.posted) >= count:
            return list(slack.posted)
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} Slack messages, got {len(slack.posted)}")


async def test_a_groups_later_messages_reply_in_its_first_ones_thread(api: Api, slack: FakeSlack) -> None:
    await ingest(api, {"title": "Disk full", "source": "s", "labels": {"alertname": "DiskFull", "host": "a"}})
    [first] = await _posted(slack, 1)
    assert "thread_ts" not in first
    await ingest(api, {"title": "Disk full", "source": "s", "labels": {"alertname": "DiskFull", "host": "b"}})
    second = (await _posted(slack, 2))[1]
    assert second["thread_ts"] == first["ts"]
    await ingest(api, {"title": "CPU hot", "source": "s", "labels": {"alertname": "CpuHot", "host": "a"}})
    other_group = (await _posted(slack, 3))[2]
    assert "thread_ts" not in other_group, "another group starts its own thread"
