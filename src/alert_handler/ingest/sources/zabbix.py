"""Zabbix, through the webhook media type in `docs/zabbix/alert-handler.js`.

The media type posts one JSON object per Zabbix message. Values come from Zabbix macros, so
they are text; a macro Zabbix could not resolve (`{EVENT.UPDATE.ACTION}` in a problem message)
counts as empty. The identity is the problem event: a recovery message carries the problem's
`{EVENT.ID}`, so it resolves the alert the problem made.

    event_value            1 problem, 0 recovery
    event_update_status    1 for an update: "acknowledged" acknowledges, "closed" resolves,
                           other updates (comments, severity changes) refresh the alert
    severity               {EVENT.NSEVERITY} 0-5, or a name (Not classified ... Disaster)
    event_tags             [{"tag": ..., "value": ...}] ({EVENT.TAGSJSON}), made labels
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from alert_handler.domain.severity import Severity, parse_severity
from alert_handler.ingest.sources.alertmanager import TEXT_LIMIT, TITLE_LIMIT
from alert_handler.ingest.sources.base import (
    Acknowledgement,
    Context,
    Normalized,
    build,
    clip,
    first,
    label_name,
    parse_payload,
)

_MACRO = re.compile(r"^\{[A-Z0-9_.$#]+(:[^}]*)?\}$")
_NUMERIC = {
    "0": Severity.INFO,  # Not classified
    "1": Severity.INFO,  # Information
    "2": Severity.WARNING,  # Warning
    "3": Severity.WARNING,  # Average
    "4": Severity.HIGH,  # High
    "5": Severity.CRITICAL,  # Disaster
}


def _unresolved_is_empty(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and _MACRO.match(value.strip()):
        return ""
    return value


MacroText = Annotated[str, BeforeValidator(_unresolved_is_empty)]


class Tag(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tag: str
    value: MacroText = ""


class ZabbixMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event_id: Annotated[MacroText, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
    event_value: Annotated[MacroText, StringConstraints(pattern=r"^[01]$")]
    event_update_status: MacroText = "0"
    event_update_action: MacroText = ""
    event_update_user: MacroText = ""
    event_update_message: MacroText = ""
    event_name: MacroText = ""
    subject: MacroText = ""
    message: MacroText = ""
    severity: MacroText = ""
    host: MacroText = ""
    host_name: MacroText = ""
    host_ip: MacroText = ""
    trigger_id: MacroText = ""
    trigger_description: MacroText = ""
    item_value: MacroText = ""
    event_time: MacroText = ""
    event_tags: list[Tag] = Field(default_factory=list, max_length=90)
    url: MacroText = ""


def _severity(value: str, ctx: Context) -> Severity:
    return _NUMERIC.get(value) or parse_severity(value) or ctx.severity or Severity.WARNING


def normalize(body: bytes, ctx: Context) -> Normalized:
    msg = parse_payload(ZabbixMessage, body)
    dedup_key = f"zabbix:{ctx.integration}:{msg.event_id}"
    update = msg.event_update_status == "1"
    actions = {a.strip().lower() for a in msg.event_update_action.split(",")}
    acknowledgements = []
    if update and "acknowledged" in actions:
        note = f"{msg.event_update_user}: {msg.event_update_message}".strip(": ") or None
        acknowledgements.append(Acknowledgement(dedup_key, note=note))
        if actions <= {"acknowledged", "commented", ""}:
            return Normalized(acknowledgements=acknowledgements)
    resolved = msg.event_value == "0" or (update and "closed" in actions)
    labels = {label_name(t.tag): clip(t.value, 1024) for t in msg.event_tags if t.tag.strip()}
    if msg.host:
        labels.setdefault("host", clip(msg.host, 1024))
    metadata: dict[str, Any] = {
        "integration": ctx.integration,
        "event_id": msg.event_id,
        "trigger_id": msg.trigger_id,
        "host_name": msg.host_name,
        "host_ip": msg.host_ip,
        "item_value": msg.item_value,
        "event_time": msg.event_time,
        "update_action": msg.event_update_action if update else "",
        "update_user": msg.event_update_user if update else "",
    }
    fields = {
        "source": ctx.source or "zabbix",
        "severity": _severity(msg.severity, ctx),
        "title": clip(first(msg.event_name, msg.subject, msg.trigger_description) or "Zabbix problem", TITLE_LIMIT),
        "description": clip(first(msg.message, msg.trigger_description), TEXT_LIMIT),
        "labels": labels,
        "metadata": {k: v for k, v in metadata.items() if v},
        "dedup_key": dedup_key,
        "status": "resolved" if resolved else "firing",
        "generator_url": msg.url if msg.url.startswith(("http://", "https://")) and len(msg.url) <= 2048 else None,
    }
    renamed = {"title": ("event_name",), "labels": ("event_tags",), "description": ("message",)}
    return Normalized(alerts=[build(fields, ctx, where=(), renamed=renamed)], acknowledgements=acknowledgements)
