"""kombu's Redis transport, with one redis-py client per channel for its commands.

kombu makes a new redis-py client for every message it puts and for every acknowledgement, and
making one copies redis-py's 160-odd response callbacks into a case-insensitive dict: a third
of the CPU of a `send_task` here. A client may be shared (it takes a pooled connection for each
command), so each channel makes one and keeps it. Consuming (BRPOP) is left as kombu does it.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis

TRANSPORT = "alert_handler.worker.redis_transport:Transport"


class Channel(redis.Channel):  # type: ignore[misc]
    _commands: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        if self._commands is None:
            self._commands = super()._create_client()
        return self._commands


class Transport(redis.Transport):  # type: ignore[misc]
    Channel = Channel
