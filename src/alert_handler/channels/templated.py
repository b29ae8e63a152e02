"""What templated channels share: the `language` and `template` settings, checked when the
configuration loads (so a template that does not compile is reported as
`receivers[1].settings.template: en/email/body.html, line 3: ...`), and inline templates.

A channel's settings model subclasses `TemplatedSettings` and names its channel and files:

    class EmailSettings(TemplatedSettings):
        TEMPLATE_CHANNEL = "email"
        TEMPLATE_FILES = ("subject.txt", "body.txt", "body.html")
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from jinja2 import Template
from pydantic import Field, ValidationInfo, field_validator

from alert_handler.channels.base import ChannelSettings, Message
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates, default_templates, message_context

TEMPLATE_SET = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"


class TemplatedSettings(ChannelSettings):
    TEMPLATE_CHANNEL: ClassVar[str] = ""
    TEMPLATE_FILES: ClassVar[tuple[str, ...]] = ()
    # False: the files are used only when the receiver names a `template` set (the webhook).
    TEMPLATE_BY_DEFAULT: ClassVar[bool] = True

    language: Literal["en", "zh"] | None = Field(
        None, description="the templates' language; unset: TEMPLATE_LANGUAGE (en)"
    )
    template: str | None = Field(
        None,
        pattern=TEMPLATE_SET,
        validate_default=True,
        description="a template set (folder) to use instead of the channel's own; missing files come from it",
    )

    @field_validator("template", mode="after")
    @classmethod
    def _templates_compile(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not cls.TEMPLATE_FILES or (value is None and not cls.TEMPLATE_BY_DEFAULT):
            return value
        try:
            default_templates().check(
                cls.TEMPLATE_CHANNEL, cls.TEMPLATE_FILES, template_set=value, language=info.data.get("language")
            )
        except TemplateError as exc:
            raise ValueError(str(exc)) from None
        return value


def check_inline(source: str | None, fmt: str) -> str | None:
    """For a field validator: an inline template that does not compile is a ValueError."""
    if source is not None:
        try:
            default_templates().compile(source, fmt)
        except TemplateError as exc:
            raise ValueError(str(exc)) from None
    return source


class Renderer:
    """Renders one receiver's templates for a message (the channel's files, or inline text)."""

    def __init__(self, settings: TemplatedSettings, templates: Templates | None = None) -> None:
        self.settings = settings
        self.templates = templates or default_templates()

    @property
    def language(self) -> str:
        return self.settings.language or self.templates.language

    def context(self, message: Message, *, max_alerts: int | None = None, **extra: Any) -> dict[str, Any]:
        return message_context(message, now=datetime.now(UTC), language=self.language, max_alerts=max_alerts, **extra)

    def file(self, name: str, context: dict[str, Any]) -> str:
        found = self.templates.find(
            self.settings.TEMPLATE_CHANNEL, name, template_set=self.settings.template, language=self.language
        )
        return self.templates.render(found, context)

    def inline(self, source: str, fmt: str, context: dict[str, Any]) -> str:
        template: Template = self.templates.compile(source, fmt)
        return self.templates.render(template, context)
