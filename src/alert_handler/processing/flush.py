"""Flush due groups: decide, with the notification log, what each group's receiver is told.

As Alertmanager's aggregation group and DedupStage: at each flush the group's alerts are muted
(silences, inhibitions, the route's time intervals; acknowledged alerts are not re-sent), and the
log's entry decides whether the receiver needs a notification. The notification row, the new log
entry and the next flush time are written in one transaction with the group row locked, so a
second worker (or a restart) decides nothing twice; the unique `dedup_key` backs that up.
Resolved alerts leave the group after the flush that saw them; an empty group goes idle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.domain.alert import Status
from alert_handler.grouping.nflog import LogEntry, needs_notify
from alert_handler.muting.time_intervals import TimeInterval, muted_by_time, parse_time_interval
from alert_handler.processing.channel_pool import ChannelPool
from alert_handler.processing.claimed import Claimed
from alert_handler.processing.muting import Mutes, load_mutes
from alert_handler.processing.pipeline import Limits, Snapshot
from alert_handler.routing.models import Config
from alert_handler.routing.tree import Route
from alert_handler.routing.view import AlertView
from alert_handler.store import groups as group_store
from alert_handler.store import notifications as notification_store


@dataclass(frozen=True, slots=True)
class FlushDecision:
    notify: bool
    firing: frozenset[int]
    resolved: frozenset[int]
    muted_by_time: bool = False


def _routes_by_path(tree: Route) -> dict[str, Route]:
    return {route.path: route for route in tree.walk()}


async def flush(
    conn: AsyncConnection,
    snapshot: Snapshot,
    channels: ChannelPool,
    limits: Limits,
    now: datetime,
    *,
    ids: Sequence[int] | None = None,
    mutes: dict[str, Mutes] | None = None,
    created: Mapping[int, tuple[dict[str, Any], list[dict[str, Any]]]] | None = None,
) -> Claimed:
    """Flush the due groups (all, or those in `ids`). The notifications made come back leased to
    the caller, with their alerts, to send once the transaction commits. `created`: groups the
    caller's transaction created, with their members, as `Processed.made_groups` has them."""
    created = created or {}
    stored = None if ids is None else [i for i in ids if i not in created]
    due = await group_store.claim_due(conn, now, ids=stored, limit=limits.batch) if stored != [] else []
    due += [created[i][0] for i in ids or () if i in created]
    if not due:
        return Claimed()
    members: dict[int, list[dict[str, Any]]] = defaultdict(list)
    stored_groups = [g["id"] for g in due if g["id"] not in created]
    for row in await group_store.member_alerts(conn, stored_groups) if stored_groups else []:
        members[row["group_id"]].append(row)
    for group in due:
        if group["id"] in created:
            members[group["id"]] = created[group["id"]][1]
    views = {alert["id"]: AlertView.from_row(alert) for group_alerts in members.values() for alert in group_alerts}
    by_tenant: dict[str, list[AlertView]] = defaultdict(list)
    for group in due:
        by_tenant[group["tenant"]] += [views[alert["id"]] for alert in members[group["id"]]]
    if mutes is None or not all(t in mutes and mutes[t].covers(v) for t, v in by_tenant.items()):
        judging = {tenant: [v.match_labels() for v in tenant_views] for tenant, tenant_views in by_tenant.items()}
        mutes = await load_mutes(conn, snapshot.config, by_tenant, now, judging=judging)
    routes = _routes_by_path(snapshot.tree)
    notifications: list[dict[str, Any]] = []
    flushed: list[dict[str, Any]] = []
    leaving: list[tuple[int, int]] = []
    for group in due:
        alerts = members[group["id"]]
        firing, resolved = set(), set()
        for alert in alerts:
            view = views[alert["id"]]
            rule_suppressed = any(m.get("kind") == "rule" for m in alert["suppressed_by"] or [])
            if rule_suppressed or mutes[group["tenant"]].status(view, now).muted:
                continue
            if alert["status"] == Status.FIRING.value:
                firing.add(alert["id"])
            elif alert["status"] == Status.RESOLVED.value:
                resolved.add(alert["id"])
        route = routes.get(group["route_path"])
        time_muted = route is not None and _time_muted(snapshot, route, now) is not None
        entry = _entry(group)
        send_resolved = channels.send_resolved(snapshot.config, group["receiver"])
        notify = (firing or resolved) and not time_muted and needs_notify(
            entry, firing, resolved, now=now, repeat_interval=timedelta(seconds=group["repeat_interval_s"]),
            send_resolved=send_resolved,
        )  # fmt: skip
        log = {
            "_firing": group["notified_firing"],
            "_resolved": group["notified_resolved"],
            "_at": group["notified_at"],
        }
        if notify:
            told_resolved = resolved if send_resolved else set()
            if firing or told_resolved:
                notifications.append(
                    notification_store.new_row(
                        tenant=group["tenant"],
                        dedup_key=f"group:{group['id']}:{entry.sent_at.isoformat() if entry else 'first'}",
                        kind="group",
                        receiver=group["receiver"],
                        group_id=group["id"],
                        group_labels=group["labels"],
                        firing=sorted(firing),
                        resolved=sorted(told_resolved),
                        now=now,
                        deadline=limits.notify_deadline,
                    )
                )
            log = {"_firing": sorted(firing), "_resolved": sorted(resolved), "_at": now}
        leaving += [(group["id"], a["id"]) for a in alerts if a["status"] == Status.RESOLVED.value]
        remaining = any(a["status"] != Status.RESOLVED.value for a in alerts)
        next_at = now + timedelta(seconds=group["group_interval_s"]) if remaining else None
        flushed.append({"_id": group["id"], "_next": next_at, "_now": now, **log})
    made = await notification_store.add(conn, notifications, leased_until=now + limits.lease)
    await group_store.remove_members(conn, leaving)
    await group_store.record_flush(conn, flushed)
    alerts_by_id = {a["id"]: a for group_alerts in members.values() for a in group_alerts}
    threads = {g["id"]: g["thread"] for g in due if g["thread"]}
    return Claimed(made, alerts_by_id, threads)


def _entry(group: dict[str, Any]) -> LogEntry | None:
    if group["notified_at"] is None:
        return None
    return LogEntry(
        frozenset(group["notified_firing"] or ()), frozenset(group["notified_resolved"] or ()), group["notified_at"]
    )


def _time_muted(snapshot: Snapshot, route: Route, now: datetime) -> str | None:
    if not route.mute_time_intervals and not route.active_time_intervals:
        return None
    return muted_by_time(time_intervals(snapshot.config), route.mute_time_intervals, route.active_time_intervals, now)


_parsed: list[tuple[Config, dict[str, TimeInterval]]] = []


def time_intervals(config: Config) -> dict[str, TimeInterval]:
    """The config's time intervals, parsed once per configuration."""
    for known, parsed in _parsed:
        if known is config:
            return parsed
    parsed = {t.name: parse_time_interval(t.name, t.time_intervals) for t in config.time_intervals}
    _parsed[:] = [(config, parsed)]
    return parsed
