"""The channel pool: one channel per receiver, rebuilt when its settings change, all closed at the end."""

from __future__ import annotations

from typing import Any

import yaml

from alert_handler.channels.base import ChannelSettings, Delivery, Message
from alert_handler.processing.channel_pool import ChannelPool
from alert_handler.routing.config import parse_config


class Tracked:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = ChannelSettings()
        self.level = settings.get("level")
        self.closed = False

    async def send(self, message: Message) -> Delivery:
        return Delivery.sent()

    async def close(self) -> None:
        self.closed = True


def config(level: str) -> Any:
    return parse_config(
        yaml.safe_load(f"receivers: [{{name: r, type: log, settings: {{level: {level}}}}}]\nroute: {{receiver: r}}")
    )


async def test_a_changed_receiver_gets_a_new_channel_and_the_old_one_is_closed_with_the_pool() -> None:
    made: list[Tracked] = []

    def factory(_type: str, settings: dict[str, Any]) -> Any:
        made.append(Tracked(settings))
        return made[-1]

    pool = ChannelPool(factory)
    first = pool.get(config("INFO"), "r")
    assert pool.get(config("INFO"), "r") is first
    second = pool.get(config("WARNING"), "r")
    assert second is not first and [c.level for c in made] == ["INFO", "WARNING"]
    assert pool.get(config("INFO"), "missing") is None
    await pool.close()
    assert all(c.closed for c in made)
