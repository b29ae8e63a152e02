"""One channel per receiver, built from the configuration in force and rebuilt when it changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from alert_handler.channels.base import Channel
from alert_handler.channels.registry import build
from alert_handler.routing.models import Config, Receiver


def _identity(receiver: Receiver) -> bytes:
    return orjson.dumps([receiver.type, receiver.settings], option=orjson.OPT_SORT_KEYS, default=str)


class ChannelPool:
    def __init__(self, factory: Callable[[str, dict[str, Any]], Channel] = build) -> None:
        self._factory = factory
        self._channels: dict[str, tuple[bytes, Channel]] = {}
        # Replaced when a receiver's settings change; a send may still be using one, so they
        # are closed with the pool rather than at once.
        self._retired: list[Channel] = []

    def get(self, config: Config, receiver_name: str) -> Channel | None:
        receiver = config.receiver(receiver_name)
        if receiver is None:
            return None
        identity = _identity(receiver)
        found = self._channels.get(receiver_name)
        if found is None or found[0] != identity:
            if found is not None:
                self._retired.append(found[1])
            channel = self._factory(receiver.type, dict(receiver.settings))
            self._channels[receiver_name] = (identity, channel)
            return channel
        return found[1]

    def send_resolved(self, config: Config, receiver_name: str) -> bool:
        channel = self.get(config, receiver_name)
        return channel.settings.send_resolved if channel is not None else False

    async def close(self) -> None:
        for channel in [*self._retired, *(c for _, c in self._channels.values())]:
            await channel.close()
        self._channels.clear()
        self._retired.clear()
