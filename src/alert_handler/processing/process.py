"""Process stored alerts: rules, routes, mute marks, groups, escalation; one transaction per batch.

An alert is owed processing while its `pending_since` is set (ingest sets it in the alert's own
transaction). Processing claims such alerts (skipping ones another worker holds), decides
everything in the pure core, writes the results and clears `pending_since` in one commit, so a
crash leaves the work owed and a second run finds nothing left to do.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.domain.alert import EventKind, Status
from alert_handler.escalation.policies import step_at
from alert_handler.grouping.groups import first_flush_at, group_key, group_labels
from alert_handler.processing.muting import Mutes, load_mutes, marks
from alert_handler.processing.pipeline import Snapshot
from alert_handler.routing.rules import RulesOutcome, apply_rules, compiled_rules
from alert_handler.routing.tree import RouteMatch
from alert_handler.routing.view import AlertView
from alert_handler.store import groups as group_store
from alert_handler.store.locking import claim_on
from alert_handler.store.rows_update import RowsUpdate
from alert_handler.store.tables import alerts_table as alerts
from alert_handler.store.tables import events_table as events

ACTOR = "system:processing"


@dataclass(slots=True)
class Processed:
    alert_ids: list[int] = field(default_factory=list)
    due_groups: list[int] = field(default_factory=list)
    mutes: dict[str, Mutes] = field(default_factory=dict)
    # Due groups this transaction made, with their rows and their members' rows as written: the
    # flush needs not read back (nor lock: no one else sees them before the commit) what it knows.
    made_groups: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=dict)


@dataclass(slots=True)
class _Decision:
    row: dict[str, Any]
    outcome: RulesOutcome | None
    routes: list[RouteMatch]
    suppressed_by: list[dict[str, Any]]
    explanation: dict[str, Any]


async def claim_pending(
    conn: AsyncConnection, *, ids: Sequence[int] | None, limit: int, owed_since: datetime | None = None
) -> list[dict[str, Any]]:
    query = _pending(conn.dialect.name, by_ids=ids is not None, owed=owed_since is not None)
    params = {"ids": list(ids or ()), "owed_since": owed_since, "limit": limit}
    return [dict(r._mapping) for r in await conn.execute(query, params)]


@functools.cache  # a few statements, built once: SQLAlchemy reuses their compiled form
def _pending(dialect: str, *, by_ids: bool, owed: bool) -> Select[tuple[object, ...]]:
    query = select(alerts).where(alerts.c.pending_since.is_not(None))
    if by_ids:
        query = query.where(alerts.c.id.in_(bindparam("ids", expanding=True)))
    if owed:
        query = query.where(alerts.c.pending_since <= bindparam("owed_since"))
    query = query.order_by(alerts.c.pending_since, alerts.c.id).limit(bindparam("limit", type_=Integer))
    return claim_on(query, dialect)


def routes_for(snapshot: Snapshot, view: AlertView, outcome: RulesOutcome | None) -> list[RouteMatch]:
    found = snapshot.tree.match(view.match_labels())
    if outcome is not None:
        root = snapshot.tree
        for index, receiver in enumerate(outcome.route_to):
            if all(m.receiver != receiver for m in found):
                found.append(RouteMatch(f"rules.route_to[{index}]", receiver, root.group))
    return found


def enrich(snapshot: Snapshot, row: dict[str, Any]) -> RulesOutcome | None:
    """What the rules make of an open alert (None for a resolved one: rules leave it alone)."""
    if row["status"] == Status.RESOLVED.value:
        return None
    return apply_rules(compiled_rules(snapshot.config), AlertView.from_row(row))


def decide(
    snapshot: Snapshot, row: dict[str, Any], outcome: RulesOutcome | None, mutes: Mutes, now: datetime
) -> _Decision:
    if outcome is None:
        explanation = dict(row["explanation"] or {})
        return _Decision(row, None, [], list(row["suppressed_by"] or []), explanation)
    enriched = outcome.view
    routes = [] if outcome.suppressed_by else routes_for(snapshot, enriched, outcome)
    mute = mutes.status(enriched, now)
    suppressed = marks(mute, outcome.suppressed_by)
    explanation = {
        "processed_at": now.isoformat(),
        "rules": outcome.to_json(),
        "routes": [
            {
                "path": r.path,
                "receiver": r.receiver,
                "group_by": list(r.group.group_by) or (["..."] if r.group.group_by_all else []),
            }
            for r in routes
        ],
        "suppressed_by": suppressed,
    }
    return _Decision(row, outcome, routes, suppressed, explanation)


async def process(
    conn: AsyncConnection,
    snapshot: Snapshot,
    now: datetime,
    *,
    ids: Sequence[int] | None = None,
    limit: int = 500,
    owed_since: datetime | None = None,
) -> Processed:
    """Process owed alerts: these `ids`, or any; with `owed_since`, only those owed since then."""
    rows = await claim_pending(conn, ids=ids, limit=limit, owed_since=owed_since)
    if not rows:
        return Processed()
    outcomes = [enrich(snapshot, row) for row in rows]
    judging: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome is not None:
            judging[row["tenant"]].append(outcome.view.match_labels())
    mutes = await load_mutes(conn, snapshot.config, (r["tenant"] for r in rows), now, judging=judging)
    decisions = [
        decide(snapshot, row, outcome, mutes[row["tenant"]], now) for row, outcome in zip(rows, outcomes, strict=True)
    ]

    group_rows: dict[str, dict[str, Any]] = {}
    memberships: list[tuple[str, int]] = []
    first_flush: dict[str, datetime] = {}
    for d in decisions:
        for route in d.routes:
            view = d.outcome.view if d.outcome else AlertView.from_row(d.row)
            labels = group_labels(view.labels, route.group, view.match_labels())
            key = group_key(d.row["tenant"], route.path, route.receiver, labels)
            route_info = {"group_key": key, "group_labels": labels}
            for shown in d.explanation["routes"]:
                if shown["path"] == route.path and shown["receiver"] == route.receiver:
                    shown.update(route_info)
            memberships.append((key, d.row["id"]))
            at = first_flush_at(now, d.row["first_received_at"], d.row["starts_at"], route.group)
            first_flush[key] = min(at, first_flush.get(key, at))
            group_rows.setdefault(key, _group_row(d.row["tenant"], key, route, labels, now))
    for key, row in group_rows.items():
        row["next_flush_at"] = first_flush[key]
    ids_by_key, existing = await group_store.ensure(conn, list(group_rows.values()))
    await group_store.add_members(conn, [(ids_by_key[k], a) for k, a in memberships], now)
    waking = {ids_by_key[k]: at for k, at in first_flush.items() if ids_by_key[k] in existing}
    await group_store.wake_idle(conn, waking)
    written = await _write_results(conn, snapshot, decisions, ids_by_key, now)
    due = [ids_by_key[k] for k, at in first_flush.items() if at <= now]
    members_by_key: dict[str, set[int]] = defaultdict(set)
    for key, alert_id in memberships:
        members_by_key[key].add(alert_id)
    made = {
        ids_by_key[key]: (
            {**group_rows[key], "id": ids_by_key[key], "thread": None},
            [{**written[a], "group_id": ids_by_key[key]} for a in sorted(members_by_key[key])],
        )
        for key, at in first_flush.items()
        if at <= now and ids_by_key[key] not in existing
    }
    return Processed([r["id"] for r in rows], sorted(set(due)), mutes, made)


def _group_row(tenant: str, key: str, route: RouteMatch, labels: dict[str, str], now: datetime) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "group_key": key,
        "route_path": route.path,
        "receiver": route.receiver,
        "labels": labels,
        "group_wait_s": route.group.group_wait.total_seconds(),
        "group_interval_s": route.group.group_interval.total_seconds(),
        "repeat_interval_s": route.group.repeat_interval.total_seconds(),
        "next_flush_at": None,
        "notified_firing": None,
        "notified_resolved": None,
        "notified_at": None,
        "created_at": now,
        "updated_at": now,
    }


# The parameters of a decision's update (`_write_results`) and the columns they set.
_COLUMN_OF = {
    "_suppressed_by": "suppressed_by", "_explanation": "explanation", "_severity": "severity", "_labels": "labels",
    "_tags": "tags", "_owner": "owner", "_team": "team", "_policy": "escalation_policy", "_step": "escalation_step",
    "_due": "escalation_due_at",
}  # fmt: skip
_STORE_DECISION = RowsUpdate(alerts, _COLUMN_OF, {"pending_since": None})


async def _write_results(
    conn: AsyncConnection, snapshot: Snapshot, decisions: list[_Decision], ids_by_key: dict[str, int], now: datetime
) -> dict[int, dict[str, Any]]:
    """Store each decision; every alert's row as it now is, by id."""
    updates: list[dict[str, Any]] = []
    new_events: list[dict[str, Any]] = []
    for d in decisions:
        row = d.row
        for shown in d.explanation.get("routes", []):
            if shown.get("group_key") in ids_by_key:
                shown["group_id"] = ids_by_key[shown["group_key"]]
        values: dict[str, Any] = {
            "_id": row["id"],
            "_suppressed_by": d.suppressed_by or None,
            "_explanation": d.explanation,
            "_severity": row["severity"],
            "_labels": row["labels"],
            "_tags": row["tags"],
            "_owner": row["owner"],
            "_team": row["team"],
            "_policy": row["escalation_policy"],
            "_step": row["escalation_step"],
            "_due": row["escalation_due_at"],
        }
        if d.outcome is not None:
            view = d.outcome.view
            values.update(
                _severity=view.severity, _labels=dict(view.labels), _tags=list(view.tags),
                _owner=view.owner, _team=view.team,
            )  # fmt: skip
            _start_escalation(snapshot, row, d.outcome.escalation_policy, values)
        elif row["status"] == Status.RESOLVED.value:
            values["_due"] = None
        updates.append(values)
        new_events += _events(row, d, now)
    await _STORE_DECISION.execute(conn, updates)
    if new_events:
        await conn.execute(events.insert(), new_events)
    return {
        d.row["id"]: {**d.row, "pending_since": None, **{_COLUMN_OF[k]: v for k, v in values.items() if k != "_id"}}
        for d, values in zip(decisions, updates, strict=True)
    }


def _start_escalation(snapshot: Snapshot, row: dict[str, Any], policy_name: str | None, values: dict[str, Any]) -> None:
    """Attach a policy the first time a rule names one; acknowledged alerts are not escalated."""
    if policy_name is None or row["escalation_policy"] == policy_name or row["status"] != Status.FIRING.value:
        return
    policy = next((p for p in snapshot.config.escalation_policies if p.name == policy_name), None)
    if policy is None:
        return
    first = step_at(policy, row["first_received_at"], 0)
    values.update(_policy=policy_name, _step=0, _due=first.due_at if first else None)


def _events(row: dict[str, Any], d: _Decision, now: datetime) -> list[dict[str, Any]]:
    """A timeline event when where the alert goes, or what holds it, changed."""
    if d.outcome is None:
        return []
    before = row["explanation"] or {}
    routes = [(r["path"], r["receiver"]) for r in d.explanation["routes"]]
    before_routes = [(r["path"], r["receiver"]) for r in before.get("routes", [])]
    found = []
    if not before or routes != before_routes:
        detail = {"routes": [{"path": p, "receiver": r} for p, r in routes]}
        found.append(
            {"alert_id": row["id"], "at": now, "kind": EventKind.ROUTED.value, "actor": ACTOR, "detail": detail}
        )
    if d.suppressed_by != (row["suppressed_by"] or []):
        kind = EventKind.SUPPRESSED if d.suppressed_by else EventKind.UNSUPPRESSED
        found.append(
            {"alert_id": row["id"], "at": now, "kind": kind.value, "actor": ACTOR, "detail": {"by": d.suppressed_by}}
        )
    return found
