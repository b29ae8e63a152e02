"""Notification templates: sandboxed Jinja2 with escaping right for each output format.

Public API:
    Templates            find / load / compile / render / check templates (engine.py)
    default_templates()  the process's Templates, from TEMPLATES_DIR and TEMPLATE_LANGUAGE
    message_context()    the variables a template sees for one Message (context.py)
    format_of(name)      the output format a file name means (`.html` -> html, ...)
    escape               the escapers per format, and `Raw` for text already right
    LANGUAGES, DEFAULTS_DIR, TemplateError
"""

from __future__ import annotations

from functools import cache

from alert_handler.errors import TemplateError
from alert_handler.settings import get_settings
from alert_handler.templates import escape
from alert_handler.templates.context import format_duration, message_context
from alert_handler.templates.engine import DEFAULTS_DIR, LANGUAGES, Templates, format_of

__all__ = [
    "DEFAULTS_DIR",
    "LANGUAGES",
    "TemplateError",
    "Templates",
    "default_templates",
    "escape",
    "format_duration",
    "format_of",
    "message_context",
]


@cache
def default_templates() -> Templates:
    """Built once per process from the settings (TEMPLATES_DIR, TEMPLATE_LANGUAGE); a channel
    given its own `Templates` (tests, previews) does not use it."""
    settings = get_settings()
    return Templates(settings.templates_dir or None, settings.template_language)
