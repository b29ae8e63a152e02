"""Reading alerts: one with its timeline, filtered pages with a stable cursor, statistics."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, and_, cast, func, not_, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.domain.alert import OPEN_STATUSES, EventKind
from alert_handler.domain.matchers import Matcher, MatchOp
from alert_handler.store.sql_functions import seconds_between
from alert_handler.store.tables import alerts_table as alerts
from alert_handler.store.tables import events_table as events

SortField = Literal["created_at", "last_received_at", "starts_at", "resolved_at"]
_SORT_COLUMNS = {
    "created_at": None,  # ids grow with creation, so the id alone orders by creation
    "last_received_at": alerts.c.last_received_at,
    "starts_at": alerts.c.starts_at,
    "resolved_at": alerts.c.resolved_at,
}
_TIME_COLUMNS = {
    "created_at": alerts.c.first_received_at,
    "last_received_at": alerts.c.last_received_at,
    "starts_at": alerts.c.starts_at,
    "resolved_at": alerts.c.resolved_at,
}


class CursorError(ValueError):
    """A page cursor that this query did not hand out."""


@dataclass(slots=True)
class AlertFilter:
    tenant: str
    statuses: list[str] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    label_matchers: list[Matcher] = field(default_factory=list)
    text: str | None = None
    fingerprint: str | None = None
    time_field: SortField = "created_at"
    since: datetime | None = None
    until: datetime | None = None


@dataclass(slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int | None
    next_cursor: str | None


async def get_alert(conn: AsyncConnection, tenant: str, alert_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(alerts).where(alerts.c.id == alert_id, alerts.c.tenant == tenant))).first()
    return dict(row._mapping) if row else None


async def timeline(conn: AsyncConnection, alert: dict[str, Any]) -> list[dict[str, Any]]:
    """Stored events, led by the "received" event the alert row itself records."""
    rows = await conn.execute(select(events).where(events.c.alert_id == alert["id"]).order_by(events.c.id))
    received = {
        "id": None,
        "at": alert["first_received_at"],
        "kind": EventKind.RECEIVED.value,
        "actor": f"source:{alert['source']}",
        "detail": {},
    }
    return [received, *(dict(r._mapping) for r in rows)]


def _where(conn: AsyncConnection, flt: AlertFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [alerts.c.tenant == flt.tenant]
    statuses: set[str] = set()
    for status in flt.statuses:
        statuses.update(s.value for s in OPEN_STATUSES) if status == "active" else statuses.add(status)
    if statuses:
        clauses.append(alerts.c.status.in_(sorted(statuses)))
    if flt.severities:
        clauses.append(alerts.c.severity.in_(flt.severities))
    if flt.sources:
        clauses.append(alerts.c.source.in_(flt.sources))
    if flt.fingerprint:
        clauses.append(alerts.c.fingerprint == flt.fingerprint)
    postgres = conn.dialect.name == "postgresql"
    for tag in flt.tags:
        if postgres:  # served by the GIN index
            clauses.append(alerts.c.tags.op("@>")(_jsonb([tag])))
        else:
            clauses.append(_json_array_contains(conn, tag))
    for matcher in flt.label_matchers:
        clauses.append(_label_clause(matcher, postgres))
    if flt.text:
        pattern = "%" + flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            or_(alerts.c.title.ilike(pattern, escape="\\"), alerts.c.description.ilike(pattern, escape="\\"))
        )
    time_column = _TIME_COLUMNS[flt.time_field]
    if flt.since is not None:
        clauses.append(time_column >= flt.since)
    if flt.until is not None:
        clauses.append(time_column < flt.until)
    return clauses


def _jsonb(value: object) -> ColumnElement[Any]:
    """A JSONB value to compare with: the object itself is bound (a JSON text would bind as a JSON string)."""
    return cast(value, JSONB)


def _json_array_contains(conn: AsyncConnection, tag: str) -> ColumnElement[bool]:
    if conn.dialect.name == "mysql":
        return func.json_contains(alerts.c.tags, orjson.dumps(tag).decode()) == 1
    each = func.json_each(alerts.c.tags).table_valued("value")
    return select(each.c.value).where(each.c.value == tag).exists()


def _label_clause(matcher: Matcher, postgres: bool) -> ColumnElement[bool]:
    if postgres and matcher.op is MatchOp.EQ and matcher.value:
        return alerts.c.labels.op("@>")(_jsonb({matcher.name: matcher.value}))
    value = func.coalesce(alerts.c.labels[matcher.name].as_string(), "")
    if matcher.op is MatchOp.EQ:
        return value == matcher.value
    if matcher.op is MatchOp.NE:
        return value != matcher.value
    hit = value.regexp_match(matcher.anchored_pattern)
    return hit if matcher.op is MatchOp.RE else not_(hit)


def encode_cursor(order: str, sort_value: datetime | None, alert_id: int) -> str:
    """`order` (e.g. "-created_at") travels in the cursor, so it cannot page another ordering."""
    payload = orjson.dumps([order, sort_value.isoformat() if sort_value else None, alert_id])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _decode_cursor(cursor: str, order: str) -> tuple[datetime | None, int]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        cursor_order, value, alert_id = raw
        if cursor_order != order:
            raise CursorError(f"cursor: it pages sort={cursor_order}, not sort={order}")
        sort_value = datetime.fromisoformat(value) if value else None
        alert_id = int(alert_id)
    except CursorError:
        raise
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise CursorError("cursor: not a cursor this API returned") from exc
    # Checked here, or the database refuses them later (a naive time, an id past BIGINT) as a 503.
    if (sort_value is not None and sort_value.tzinfo is None) or not 0 < alert_id < 2**63:
        raise CursorError("cursor: not a cursor this API returned")
    return sort_value, alert_id


def _after_cursor(sort: SortField, descending: bool, cursor: str) -> ColumnElement[bool]:
    value, last_id = _decode_cursor(cursor, ("-" if descending else "") + sort)
    column = _SORT_COLUMNS[sort]
    id_after = alerts.c.id < last_id if descending else alerts.c.id > last_id
    if column is None:
        return id_after
    if value is None:  # NULL sort values come last in both directions
        return and_(column.is_(None), id_after)
    beyond = column < value if descending else column > value
    return or_(beyond, and_(column == value, id_after), column.is_(None))


async def list_alerts(
    conn: AsyncConnection,
    flt: AlertFilter,
    *,
    sort: SortField = "created_at",
    descending: bool = True,
    limit: int = 50,
    cursor: str | None = None,
    with_total: bool = True,
) -> Page:
    where = _where(conn, flt)
    query = select(alerts).where(*where)
    if cursor:
        query = query.where(_after_cursor(sort, descending, cursor))
    column = _SORT_COLUMNS[sort]
    order = []
    if column is not None:
        order = [column.is_(None), column.desc() if descending else column.asc()]
    order.append(alerts.c.id.desc() if descending else alerts.c.id.asc())
    rows = [dict(r._mapping) for r in await conn.execute(query.order_by(*order).limit(limit + 1))]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        ordering = ("-" if descending else "") + sort
        next_cursor = encode_cursor(ordering, last[sort] if column is not None else None, last["id"])
    total = None
    if with_total:
        total = (await conn.execute(select(func.count()).select_from(alerts).where(*where))).scalar_one()
    return Page(rows, total, next_cursor)


async def stats(conn: AsyncConnection, tenant: str, since: datetime, until: datetime) -> dict[str, Any]:
    """Counts of the alerts created in [since, until), and MTTA / MTTR over them."""
    window = [
        alerts.c.tenant == tenant,
        alerts.c.first_received_at >= since,
        alerts.c.first_received_at < until,
    ]
    counts: dict[str, dict[str, int]] = {}
    for name in ("status", "severity", "source"):
        column = alerts.c[name]
        rows = await conn.execute(select(column, func.count()).where(*window).group_by(column))
        counts[name] = {key: n for key, n in rows}
    mtta = select(func.avg(seconds_between(alerts.c.acknowledged_at, alerts.c.first_received_at)), func.count()).where(
        *window, alerts.c.acknowledged_at.is_not(None)
    )
    mttr = select(func.avg(seconds_between(alerts.c.resolved_at, alerts.c.first_received_at)), func.count()).where(
        *window, alerts.c.resolved_at.is_not(None)
    )
    mtta_value, acked = (await conn.execute(mtta)).one()
    mttr_value, resolved = (await conn.execute(mttr)).one()
    return {
        "total": sum(counts["status"].values()),
        "by_status": counts["status"],
        "by_severity": counts["severity"],
        "by_source": counts["source"],
        "mtta_seconds": float(mtta_value) if mtta_value is not None else None,
        "acknowledged": acked,
        "mttr_seconds": float(mttr_value) if mttr_value is not None else None,
        "resolved": resolved,
    }


async def open_counts_by_severity(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(
        select(alerts.c.severity, func.count())
        .where(alerts.c.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(alerts.c.severity)
    )
    return {severity: n for severity, n in rows}


async def processing_backlog(conn: AsyncConnection) -> tuple[int, datetime | None]:
    """How many alerts are owed processing, and since when the oldest has been."""
    query = select(func.count(), func.min(alerts.c.pending_since)).where(alerts.c.pending_since.is_not(None))
    count, oldest = (await conn.execute(query)).one()
    if isinstance(oldest, str):  # SQLite hands an aggregate back as text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return int(count), oldest
