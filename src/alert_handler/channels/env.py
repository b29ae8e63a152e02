"""Receivers made from the environment, so a user who only sets SMTP_* (and later SLACK_*,
DINGTALK_*) gets working receivers without writing YAML.

Each channel type may offer `from_env(settings) -> dict | None`: the receiver's settings when
its variables are set, else None. The receiver is named after the type (`email`). How they join
the configuration: after the file's receivers, provisioned (read-only through the API) like
them; a receiver of the same name in the file or made through the API takes its place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alert_handler.channels.registry import channel_types
from alert_handler.settings import Settings

EnvHook = Callable[[Settings], dict[str, Any] | None]


def env_receivers(settings: Settings) -> list[dict[str, Any]]:
    found = []
    for name, factory in sorted(channel_types().items()):
        hook: EnvHook | None = getattr(factory, "from_env", None)
        made = hook(settings) if hook is not None else None
        if made is not None:
            found.append({"name": name, "type": name, "settings": made})
    return found
