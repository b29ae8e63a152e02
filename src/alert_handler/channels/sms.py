"""What the SMS channels share: the text from the `sms` templates (`message.txt`), made one
line and cut to the receiver's length, digest noted; and a memory of which recipients already
got a message, so a retry texts only those who did not (a text costs money and wakes people).

The memory lives in the process: a retry handled by another worker (or after a restart) may
text someone twice; the notification's key is in the log either way.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import ClassVar

from pydantic import Field

from alert_handler.channels import http
from alert_handler.channels.base import Message
from alert_handler.channels.templated import Renderer, TemplatedSettings

E164 = r"^\+[1-9][0-9]{1,14}$"
_SPACES = re.compile(r"\s+")
_REMEMBERED = 2000  # messages whose recipients are remembered


class SmsSettings(TemplatedSettings):
    TEMPLATE_CHANNEL: ClassVar[str] = "sms"
    TEMPLATE_FILES: ClassVar[tuple[str, ...]] = ("message.txt",)
    MAX_PER_MINUTE: ClassVar[int] = 10  # a phone is no place for a flood (and each text costs)

    max_chars: int = Field(320, ge=20, le=1600, description="the text is cut to this many characters")
    timeout_seconds: float = Field(10.0, gt=0, le=300)


def text(renderer: Renderer, message: Message, max_chars: int) -> str:
    """The message's text: the template's output on one line, cut to `max_chars`."""
    context = renderer.context(message)
    made = _SPACES.sub(" ", renderer.file("message.txt", context)).strip()
    return http.cut_chars(made, max_chars)


class Recipients:
    """Per message key, the recipients who already got it (the most recent messages only)."""

    def __init__(self) -> None:
        self._got: OrderedDict[str, set[str]] = OrderedDict()

    def pending(self, key: str, everyone: list[str]) -> list[str]:
        got = self._got.get(key, set())
        return [who for who in everyone if who not in got]

    def delivered(self, key: str, who: str) -> None:
        self._got.setdefault(key, set()).add(who)
        self._got.move_to_end(key)
        while len(self._got) > _REMEMBERED:
            self._got.popitem(last=False)
