"""What the SMS channels share: the text from the `sms` templates (`message.txt`), made one
line and cut to the receiver's length, digest noted."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field

from alert_handler.channels import http
from alert_handler.channels.base import Message
from alert_handler.channels.templated import Renderer, TemplatedSettings

E164 = r"^\+[1-9][0-9]{1,14}$"
_SPACES = re.compile(r"\s+")


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
