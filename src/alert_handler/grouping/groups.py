"""Which group an alert joins on a route, and when a new group is first flushed.

As Alertmanager's dispatcher: a group is the route, its receiver and the values of the route's
`group_by` labels (all labels with `...`; none: one group for the route). A new group is
flushed `group_wait` after its first alert was received, or at once when its first alert started longer than
`group_wait` ago (that alert has waited already); afterwards every `group_interval`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

import orjson

from alert_handler.routing.tree import GroupSettings


def group_labels(
    labels: Mapping[str, str], settings: GroupSettings, fields: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The group's labels. `...` takes every label; named ones may also be native fields
    (`fields`, e.g. `severity`), so `group_by: [severity]` works for alerts without labels."""
    if settings.group_by_all:
        return dict(labels)
    found = {**(fields or {}), **labels}
    return {name: found[name] for name in settings.group_by if found.get(name)}


def group_key(tenant: str, route_path: str, receiver: str, labels: Mapping[str, str]) -> str:
    """A stable identity for the group, short enough for a unique index."""
    identity = orjson.dumps([tenant, route_path, receiver, labels], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(identity).hexdigest()


def first_flush_at(
    now: datetime, received_at: datetime, starts_at: datetime | None, settings: GroupSettings
) -> datetime:
    """group_wait counts from when the alert was received, even if processing ran late. An alert
    received after `now` (committed while this run was starting) counts as received now."""
    if starts_at is not None and starts_at + settings.group_wait < now:
        return now
    return max(now, min(received_at, now) + settings.group_wait)
