"""What Alertmanager's API v2 reads: the open alerts of a tenant, and its groups with their members.

An alert is listed while it is open and its `ends_at` (if any) has not passed, as Alertmanager
lists the alerts it holds that have not ended. Label filters are applied by the caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.store.tables import alerts_table as alerts
from alert_handler.store.tables import groups_table as groups
from alert_handler.store.tables import members_table as members

COLUMNS = (
    alerts.c.id,
    alerts.c.fingerprint,
    alerts.c.labels,
    alerts.c.annotations,
    alerts.c.starts_at,
    alerts.c.ends_at,
    alerts.c.generator_url,
    alerts.c.last_received_at,
    alerts.c.pending_since,
    alerts.c.suppressed_by,
    alerts.c.explanation,
    alerts.c.severity,
    alerts.c.source,
    alerts.c.title,
    alerts.c.tags,
)


def _listed(tenant: str, now: datetime) -> tuple[Any, ...]:
    return (
        alerts.c.tenant == tenant,
        alerts.c.active_key.is_not(None),
        or_(alerts.c.ends_at.is_(None), alerts.c.ends_at >= now),
    )


async def open_alerts(conn: AsyncConnection, tenant: str, now: datetime) -> list[dict[str, Any]]:
    """The tenant's open alerts that have not ended, by fingerprint."""
    query = select(*COLUMNS).where(*_listed(tenant, now)).order_by(alerts.c.fingerprint, alerts.c.id)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def groups_with_alerts(conn: AsyncConnection, tenant: str, now: datetime) -> list[dict[str, Any]]:
    """Each group of the tenant with its listed member alerts (`alerts`), groups without any left out."""
    query = (
        select(groups.c.id.label("group_id"), groups.c.receiver, groups.c.labels.label("group_labels"), *COLUMNS)
        .join(members, members.c.group_id == groups.c.id)
        .join(alerts, alerts.c.id == members.c.alert_id)
        .where(groups.c.tenant == tenant, *_listed(tenant, now))
        .order_by(groups.c.id, alerts.c.fingerprint, alerts.c.id)
    )
    found: dict[int, dict[str, Any]] = {}
    for row in await conn.execute(query):
        values = dict(row._mapping)
        group = found.setdefault(
            values["group_id"],
            {"id": values["group_id"], "receiver": values["receiver"], "labels": values["group_labels"], "alerts": []},
        )
        group["alerts"].append({c.name: values[c.name] for c in COLUMNS})
    return list(found.values())
