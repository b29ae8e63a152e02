"""What `/api/v1/config` answers, and the secrets it never shows.

A receiver's settings (and an integration's auth) may carry passwords, tokens, keys and webhook URLs. Values under a key
that looks secret are answered as `********`; URLs lose their password and query values. A PUT
that sends such a masked value back keeps the stored one, so a GET-edit-PUT round trip works.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, Field

from alert_handler.channels.registry import channel_types

MASK = "********"
_SECRET_KEY = re.compile(
    r"pass|secret|token|credential|auth|key|webhook|private|signature|signing|cookie|session|dsn", re.IGNORECASE
)
_URL_KEY = re.compile(r"(url|uri|endpoint)$", re.IGNORECASE)


class ConfigObjectOut(BaseModel):
    name: str
    provisioned: bool = Field(description="Defined in the configuration file: read-only through the API")
    body: dict[str, Any]


class ConfigOut(BaseModel):
    revision: str = Field(description="A digest of the effective configuration")
    loaded_at: datetime
    file: str
    config: dict[str, Any] = Field(description="The effective configuration: the file with the API's objects")
    provisioned: dict[str, list[str]] = Field(description="Per kind, the names that come from the file")


class ReloadOut(BaseModel):
    status: str = Field(examples=["reloaded"])
    revision: str


class ReloadFailedOut(BaseModel):
    status: str = Field(examples=["failed"])
    revision: str = Field(description="The configuration that keeps running")
    errors: list[str] = Field(description="Each problem as `FILE: PATH: what is wrong`")


def _mask_url(text: str) -> str:
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:{MASK}@{host}{port}"
    query = parts.query
    if query:
        query = urlencode([(name, MASK) for name, _ in parse_qsl(query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_value(key: str, value: Any) -> Any:
    """`value` as it may be shown, under the setting `key`."""
    if _SECRET_KEY.search(key):
        return value if value in (None, "", [], {}) else MASK
    if isinstance(value, str) and _URL_KEY.search(key):
        return _mask_url(value)
    return mask(value)


def mask(value: Any) -> Any:
    """Every secret-looking value inside `value` (mappings and lists, any depth) masked."""
    if isinstance(value, Mapping):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(item) for item in value]
    return value


def restore_masked(new: Any, old: Any, old_shown: Any = None) -> Any:
    """`new` with each value that equals how the stored (`old`) one is shown (`old_shown`, masked)
    put back: a client that sends back what it read keeps the secrets it could not see."""
    if not isinstance(new, dict) or not isinstance(old, dict):
        return new
    if not isinstance(old_shown, dict):
        old_shown = mask(old)
    restored = {}
    for key, value in new.items():
        if key in old and value != old[key] and value == old_shown.get(key):
            restored[key] = old[key]
        else:
            restored[key] = restore_masked(value, old.get(key), old_shown.get(key))
    return restored


SECRET_KINDS = ("receivers", "integrations")


def shown(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A body as GET answers it: receivers' settings and integrations' auth masked (the header
    name an integration reads stays visible), others as they are."""
    if kind == "receivers":
        settings = body.get("settings")
        if isinstance(settings, Mapping):
            secret = secret_settings(str(body.get("type", "")))
            hidden = {k: (_hide(v) if k in secret else v) for k, v in settings.items()}
            return {**mask({k: v for k, v in body.items() if k != "settings"}), "settings": mask(hidden)}
        return mask(body)  # type: ignore[no-any-return]
    if kind == "integrations" and isinstance(body.get("auth"), Mapping):
        return {**body, "auth": mask(body["auth"])}
    return dict(body)


def _hide(value: Any) -> Any:
    """A secret setting as shown: a URL keeps its scheme and host (which service it is), the
    rest is masked; lists and mappings item by item."""
    if value in (None, "", [], {}):
        return value
    if isinstance(value, list):
        return [_hide(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _hide(v) for k, v in value.items()}
    if isinstance(value, str):
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            return MASK
        if parts.scheme and host:
            return f"{parts.scheme}://{host}/{MASK}"
    return MASK


def secret_settings(channel_type: str) -> set[str]:
    """The settings a channel type declares secret (`SecretStr`, alone or in a list or mapping),
    by name and alias: shown masked whatever their name."""
    factory = channel_types().get(channel_type)
    if factory is None:
        return set()
    found = set()
    for name, info in factory.Settings.model_fields.items():
        if "SecretStr" in repr(info.annotation):
            found |= {name, *([info.alias] if info.alias else [])}
    return found
