"""The `apprise` channel: the long tail of services (ntfy, Gotify, Pushover, Matrix, Discord,
Mattermost, Rocket.Chat, Signal, ...) through apprise, one receiver taking its URLs.

Title and body come from templates (`title.txt`, `body.txt`). apprise says whether every URL
took the notification and how many failed, never why in a form worth classifying, so a failure
is retried until the notification's deadline. The URLs carry tokens: they are secrets, checked
by apprise when the configuration loads (an error names the URL's index, never its text), and
apprise's own log, which can print them, is kept out of ours.
"""

from __future__ import annotations

import asyncio
import logging

import apprise
from pydantic import Field, SecretStr, field_validator

from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.email import one_line
from alert_handler.channels.templated import Renderer, TemplatedSettings
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates

# apprise logs URLs (and so tokens) when it fails; the outcome reaches our log without them.
logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)

NOTIFY_TYPES = {"firing": apprise.NotifyType.FAILURE, "resolved": apprise.NotifyType.SUCCESS}


class AppriseSettings(TemplatedSettings):
    MAX_PER_MINUTE = 30  # people read these
    TEMPLATE_CHANNEL = "apprise"
    TEMPLATE_FILES = ("title.txt", "body.txt")

    urls: list[SecretStr] = Field(min_length=1, max_length=50, description="apprise URLs (kept secret)")
    max_alerts: int = Field(20, ge=1, le=500, description="alerts listed in the body")
    timeout_seconds: float = Field(30.0, gt=0, le=300)

    @field_validator("urls")
    @classmethod
    def _apprise_knows_them(cls, value: list[SecretStr]) -> list[SecretStr]:
        unknown = [i for i, url in enumerate(value) if apprise.Apprise.instantiate(url.get_secret_value()) is None]
        if unknown:
            raise ValueError(f"apprise cannot use the URL(s) at index {', '.join(map(str, unknown))}")
        return value


class AppriseChannel:
    name = "apprise"
    Settings = AppriseSettings

    def __init__(self, settings: AppriseSettings, templates: Templates | None = None) -> None:
        self.settings = settings
        self._renderer = Renderer(settings, templates)
        self._apprise = apprise.Apprise()
        for url in settings.urls:
            self._apprise.add(url.get_secret_value())

    def preview(self, message: Message) -> dict[str, str]:
        context = self._renderer.context(message, max_alerts=self.settings.max_alerts)
        return {
            "title": one_line(self._renderer.file("title.txt", context)),
            "body": self._renderer.file("body.txt", context).strip(),
        }

    async def send(self, message: Message) -> Delivery:
        try:
            parts = self.preview(message)
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        try:
            result = await asyncio.wait_for(
                self._apprise.async_notify(
                    body=parts["body"], title=parts["title"], notify_type=NOTIFY_TYPES.get(message.status),
                    body_format=apprise.NotifyFormat.TEXT,
                ),
                timeout=self.settings.timeout_seconds,
            )  # fmt: skip
        except TimeoutError:
            return Delivery.failed("timed out", retry=True)
        if result:
            return Delivery.sent()
        failed = getattr(result, "failed_count", None)
        count = len(self.settings.urls)
        what = f"{failed} of {count}" if failed else f"some of {count}"
        return Delivery.failed(f"apprise: {what} services did not take the notification", retry=True)

    async def close(self) -> None:
        return None
