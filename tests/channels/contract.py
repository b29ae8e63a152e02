"""The delivery contract every channel keeps, as one suite to run per channel.

A channel's test module subclasses `ChannelContract` and gives a `case` fixture: a
`ChannelCase` wired to a real server of its kind. The suite then checks, through that server:

- a message is delivered;
- a failure the service calls temporary (HTTP 429/5xx, SMTP 4xx) is retried; a permanent one
  (other HTTP 4xx, SMTP 5xx) is not;
- a server that does not answer in time, and one nobody listens on, are retried;
- no secret of the settings is in an error, in the settings' repr, or in the log;
- an oversized message is cut to what the channel promises (`max_bytes`) and still delivered;
- alert text is never evaluated as a template.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from loguru import logger

from alert_handler.channels.base import Channel, Delivery
from tests.channels.factory import message


@dataclass
class ChannelCase:
    """One channel wired to a real test server.

    `channel()` sends to the server; `unreachable()` to a port nobody listens on; `slow()` to the
    server after it was told to answer later than the channel's timeout. `fail_next(temporary)`
    makes the server refuse the next message. `delivered()` is what the server took, as bytes.
    """

    secrets: tuple[str, ...]
    max_bytes: int
    channel: Callable[[], Channel]
    unreachable: Callable[[], Channel]
    slow: Callable[[], Channel]
    fail_next: Callable[[bool], None]
    delivered: Callable[[], list[bytes]]
    text: Callable[[bytes], str]  # what a reader of one delivered message sees
    settle: float = 0.0  # seconds to wait after a slow send, for the server to finish


@contextmanager
def captured_log() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG")
    try:
        yield lines
    finally:
        logger.remove(sink)


async def _send(channel: Channel, *args: int) -> Delivery:
    try:
        return await channel.send(message(*args))
    finally:
        await channel.close()


class ChannelContract:
    async def test_delivers(self, case: ChannelCase) -> None:
        delivery = await _send(case.channel())
        assert (delivery.ok, delivery.error) == (True, ""), delivery.error
        assert len(case.delivered()) == 1

    async def test_a_temporary_refusal_is_retried(self, case: ChannelCase) -> None:
        case.fail_next(True)
        delivery = await _send(case.channel())
        assert (delivery.ok, delivery.retry) == (False, True), delivery.error
        assert delivery.error and case.delivered() == []

    async def test_a_permanent_refusal_is_not_retried(self, case: ChannelCase) -> None:
        case.fail_next(False)
        delivery = await _send(case.channel())
        assert (delivery.ok, delivery.retry) == (False, False), delivery.error
        assert delivery.error

    async def test_a_server_too_slow_is_retried(self, case: ChannelCase) -> None:
        delivery = await _send(case.slow())
        assert (delivery.ok, delivery.retry) == (False, True), delivery.error
        assert "timed out" in delivery.error
        await asyncio.sleep(case.settle)

    async def test_nobody_listening_is_retried(self, case: ChannelCase) -> None:
        delivery = await _send(case.unreachable())
        assert (delivery.ok, delivery.retry) == (False, True), delivery.error

    async def test_no_secret_in_errors_settings_or_log(self, case: ChannelCase) -> None:
        with captured_log() as log:
            errors = []
            for temporary in (True, False):
                case.fail_next(temporary)
                errors.append((await _send(case.channel())).error)
            errors.append((await _send(case.unreachable())).error)
            for error in errors:
                logger.warning("delivery failed: {}", error)  # as the pipeline logs it
        shown = "\n".join([*errors, *log, repr(case.channel().settings), str(case.channel().settings)])
        for secret in case.secrets:
            assert secret not in shown

    async def test_an_oversized_message_is_cut_and_delivered(self, case: ChannelCase) -> None:
        big = message(600, 0, description="x" * 20_000)
        channel = case.channel()
        try:
            delivery = await channel.send(big)
        finally:
            await channel.close()
        assert delivery.ok, delivery.error
        assert len(case.delivered()[-1]) <= case.max_bytes

    async def test_alert_text_is_never_evaluated(self, case: ChannelCase) -> None:
        channel = case.channel()
        try:
            hostile = "{{ 7 * 7 }} {{ ''.__class__ }}"
            delivery = await channel.send(message(1, 0, title=hostile, description=hostile))
        finally:
            await channel.close()
        assert delivery.ok
        [body] = case.delivered()
        seen = case.text(body)
        assert "{{ 7 * 7 }}" in seen and "<class" not in seen
