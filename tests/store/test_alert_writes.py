"""`store_batch` on every backend: outcomes, stored rows, timeline rows, and round-trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler import db
from alert_handler.domain.alert import IncomingAlert, IngestResult, Outcome, Status
from alert_handler.domain.severity import Severity
from alert_handler.store import alert_reads
from alert_handler.store.alert_writes import store_batch
from alert_handler.store.tables import alerts_table, events_table

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def alert(
    fingerprint: str = "fp-1", *, resolved: bool = False, tenant: str = "default", **fields: Any
) -> IncomingAlert:
    fields.setdefault("source", "prometheus")
    fields.setdefault("severity", Severity.WARNING)
    fields.setdefault("title", f"alert {fingerprint}")
    fields.setdefault("actor", "api-key:test")
    return IncomingAlert(tenant=tenant, fingerprint=fingerprint, resolved=resolved, **fields)


async def store(engine: AsyncEngine, batch: list[IncomingAlert], now: datetime = T0) -> list[IngestResult]:
    async with db.write(engine) as conn:
        return await store_batch(conn, batch, now)


async def rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with db.read(engine) as conn:
        return [dict(r._mapping) for r in await conn.execute(select(alerts_table).order_by(alerts_table.c.id))]


async def events(engine: AsyncEngine, alert_id: int | None = None) -> list[dict[str, Any]]:
    query = select(events_table).order_by(events_table.c.id)
    if alert_id is not None:
        query = query.where(events_table.c.alert_id == alert_id)
    async with db.read(engine) as conn:
        return [dict(r._mapping) for r in await conn.execute(query)]


def kinds(timeline: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in timeline]


async def test_first_arrival_creates_a_firing_alert(engine: AsyncEngine) -> None:
    [result] = await store(engine, [alert("fp-1", labels={"team": "db"}, dedup_key="k-1")])

    assert result.outcome is Outcome.CREATED
    assert result.status is Status.FIRING
    assert result.fingerprint == "fp-1"
    [row] = await rows(engine)
    assert row["id"] == result.id
    assert row["status"] == "firing"
    assert row["active_key"] == "default/fp-1"
    assert row["previous_id"] is None
    assert row["duplicate_count"] == 0
    assert row["severity"] == "warning"
    assert row["labels"] == {"team": "db"}
    assert row["dedup_key"] == "k-1"
    assert row["first_received_at"] == row["last_received_at"] == row["updated_at"] == T0
    assert row["starts_at"] == T0  # no starts_at given: when it arrived
    assert row["pending_since"] == T0
    assert row["resolved_at"] is None and row["ends_at"] is None
    assert await events(engine) == []  # "received" is the row itself, not an event


async def test_repeat_is_a_duplicate_that_refreshes_the_alert(engine: AsyncEngine) -> None:
    [created] = await store(engine, [alert("fp-1", title="disk 80%", metadata={"used": 80})])
    t1 = T0 + timedelta(minutes=1)
    [dup] = await store(engine, [alert("fp-1", title="disk 90%", metadata={"used": 90})], now=t1)

    assert dup.outcome is Outcome.DUPLICATE
    assert dup.status is Status.FIRING
    assert dup.id == created.id
    [row] = await rows(engine)
    assert row["duplicate_count"] == 1
    assert row["first_received_at"] == T0
    assert row["last_received_at"] == t1
    assert row["title"] == "disk 90%"  # content follows the latest arrival
    assert row["metadata"] == {"used": 90}
    assert row["severity"] == "warning"
    [event] = await events(engine)
    assert event["alert_id"] == created.id
    assert event["kind"] == "duplicate"
    assert event["detail"] == {"count": 1}
    assert event["at"] == t1
    assert event["actor"] == "api-key:test"


async def test_duplicates_in_one_batch_make_one_counted_event(engine: AsyncEngine) -> None:
    [created] = await store(engine, [alert("fp-1")])
    results = await store(engine, [alert("fp-1") for _ in range(5)], now=T0 + timedelta(seconds=5))

    assert [r.outcome for r in results] == [Outcome.DUPLICATE] * 5
    assert {r.id for r in results} == {created.id}
    [row] = await rows(engine)
    assert row["duplicate_count"] == 5
    [event] = await events(engine)
    assert (event["kind"], event["detail"]) == ("duplicate", {"count": 5})


async def test_severity_change_on_a_duplicate_is_its_own_event(engine: AsyncEngine) -> None:
    [created] = await store(engine, [alert("fp-1", severity=Severity.WARNING)])
    t1 = T0 + timedelta(minutes=2)
    [dup] = await store(engine, [alert("fp-1", severity=Severity.CRITICAL)], now=t1)

    assert dup.outcome is Outcome.DUPLICATE
    [row] = await rows(engine)
    assert row["severity"] == "critical"
    assert row["pending_since"] == t1  # a severity change is work for the pipeline
    timeline = await events(engine, created.id)
    assert sorted(kinds(timeline)) == ["duplicate", "severity_changed"]
    changed = next(e for e in timeline if e["kind"] == "severity_changed")
    assert changed["detail"] == {"from": "warning", "to": "critical"}

    # The same severity again is a plain duplicate: no new severity event.
    await store(engine, [alert("fp-1", severity=Severity.CRITICAL)], now=t1 + timedelta(minutes=1))
    assert kinds(await events(engine, created.id)).count("severity_changed") == 1
    assert (await rows(engine))[0]["duplicate_count"] == 2


async def test_resolved_arrival_resolves_the_open_alert(engine: AsyncEngine) -> None:
    [created] = await store(engine, [alert("fp-1")])
    t1 = T0 + timedelta(minutes=10)
    [resolved] = await store(engine, [alert("fp-1", resolved=True, actor="api-key:am")], now=t1)

    assert resolved.outcome is Outcome.RESOLVED
    assert resolved.status is Status.RESOLVED
    assert resolved.id == created.id
    [row] = await rows(engine)
    assert row["status"] == "resolved"
    assert row["active_key"] is None  # frees the identity for the next occurrence
    assert row["resolved_at"] == t1
    assert row["resolved_by"] == "api-key:am"
    assert row["ends_at"] == t1
    assert row["duplicate_count"] == 0
    [event] = await events(engine)
    assert (event["kind"], event["detail"], event["actor"]) == ("resolved", {"by": "source"}, "api-key:am")


async def test_resolved_arrival_keeps_a_past_ends_at(engine: AsyncEngine) -> None:
    await store(engine, [alert("fp-1")])
    ended = T0 + timedelta(minutes=3)
    await store(engine, [alert("fp-1", resolved=True, ends_at=ended)], now=T0 + timedelta(minutes=10))
    [row] = await rows(engine)
    assert row["ends_at"] == ended
    assert row["resolved_at"] == T0 + timedelta(minutes=10)


async def test_firing_after_resolved_reopens_as_a_linked_occurrence(engine: AsyncEngine) -> None:
    [first] = await store(engine, [alert("fp-1")])
    await store(engine, [alert("fp-1", resolved=True)], now=T0 + timedelta(minutes=1))
    t2 = T0 + timedelta(minutes=2)
    [again] = await store(engine, [alert("fp-1")], now=t2)

    assert again.outcome is Outcome.REOPENED
    assert again.status is Status.FIRING
    assert again.id != first.id
    old, new = await rows(engine)
    assert old["id"] == first.id and old["status"] == "resolved" and old["active_key"] is None
    assert new["id"] == again.id
    assert new["status"] == "firing"
    assert new["previous_id"] == first.id
    assert new["active_key"] == "default/fp-1"
    assert new["first_received_at"] == t2
    assert new["duplicate_count"] == 0
    [reopened] = await events(engine, again.id)
    assert (reopened["kind"], reopened["detail"]) == ("reopened", {"previous_id": first.id})

    # A duplicate now lands on the new occurrence, never on the resolved one.
    [dup] = await store(engine, [alert("fp-1")], now=t2 + timedelta(seconds=1))
    assert (dup.outcome, dup.id) == (Outcome.DUPLICATE, again.id)


async def test_resolved_repeat_of_a_resolved_alert_changes_nothing(engine: AsyncEngine) -> None:
    [first] = await store(engine, [alert("fp-1")])
    await store(engine, [alert("fp-1", resolved=True)], now=T0 + timedelta(minutes=1))
    before_rows, before_events = await rows(engine), await events(engine)

    [late] = await store(engine, [alert("fp-1", resolved=True)], now=T0 + timedelta(minutes=5))

    assert (late.outcome, late.status, late.id) == (Outcome.DUPLICATE, Status.RESOLVED, first.id)
    assert await rows(engine) == before_rows
    assert await events(engine) == before_events


async def test_resolved_arrival_for_an_unknown_alert_stores_it_resolved(engine: AsyncEngine) -> None:
    [result] = await store(engine, [alert("never-fired", resolved=True)])

    assert (result.outcome, result.status) == (Outcome.RESOLVED, Status.RESOLVED)
    [row] = await rows(engine)
    assert row["status"] == "resolved"
    assert row["active_key"] is None
    assert row["resolved_at"] == T0
    # And it firing later is a reopening of that record.
    [later] = await store(engine, [alert("never-fired")], now=T0 + timedelta(minutes=1))
    assert later.outcome is Outcome.REOPENED
    assert (await rows(engine))[1]["previous_id"] == row["id"]


async def test_a_batch_mixing_many_fingerprints(engine: AsyncEngine) -> None:
    # Existing state: fp-0..9 open, fp-10..19 resolved.
    await store(engine, [alert(f"fp-{i}") for i in range(20)])
    await store(engine, [alert(f"fp-{i}", resolved=True) for i in range(10, 20)], now=T0 + timedelta(seconds=1))
    known = {r["fingerprint"]: r["id"] for r in await rows(engine)}

    batch = (
        [alert(f"fp-{i}") for i in range(0, 5)]  # duplicates
        + [alert(f"fp-{i}", resolved=True) for i in range(5, 10)]  # resolutions
        + [alert(f"fp-{i}") for i in range(10, 15)]  # reopenings
        + [alert(f"new-{i}") for i in range(30)]  # creations
        + [alert("tenant-b", tenant="b"), alert("fp-0", tenant="b")]  # other tenant: its own alerts
    )
    t2 = T0 + timedelta(seconds=2)
    results = await store(engine, batch, now=t2)

    assert len(results) == len(batch)
    assert [r.fingerprint for r in results] == [a.fingerprint for a in batch]  # in order
    expected = [Outcome.DUPLICATE] * 5 + [Outcome.RESOLVED] * 5 + [Outcome.REOPENED] * 5 + [Outcome.CREATED] * 32
    assert [r.outcome for r in results] == expected
    for result in results[:10]:
        assert result.id == known[result.fingerprint]
    for result in results[10:15]:
        assert result.id not in known.values()
    by_id = {r["id"]: r for r in await rows(engine)}
    assert len(by_id) == 20 + 5 + 32
    assert by_id[results[45].id]["tenant"] == "b"
    assert by_id[results[46].id]["tenant"] == "b"
    assert results[46].id != known["fp-0"]
    open_keys = [r["active_key"] for r in by_id.values() if r["active_key"] is not None]
    assert len(open_keys) == len(set(open_keys)) == 5 + 5 + 32
    for result in results[10:15]:
        assert by_id[result.id]["previous_id"] == known[result.fingerprint]


async def test_same_fingerprint_many_times_in_one_batch(engine: AsyncEngine) -> None:
    results = await store(engine, [alert("storm", metadata={"n": n}) for n in range(200)])

    assert results[0].outcome is Outcome.CREATED
    assert [r.outcome for r in results[1:]] == [Outcome.DUPLICATE] * 199
    assert len({r.id for r in results}) == 1
    [row] = await rows(engine)
    assert row["duplicate_count"] == 199
    assert row["metadata"] == {"n": 199}  # the last arrival's content wins
    [event] = await events(engine)
    assert (event["kind"], event["detail"]) == ("duplicate", {"count": 199})


async def test_one_batch_that_fires_resolves_and_fires_again(engine: AsyncEngine) -> None:
    sequence = [False, False, False, True, False, False, True, False]  # resolved?
    results = await store(engine, [alert("flappy", resolved=r) for r in sequence])

    assert [r.outcome for r in results] == [
        Outcome.CREATED,
        Outcome.DUPLICATE,
        Outcome.DUPLICATE,
        Outcome.RESOLVED,
        Outcome.REOPENED,
        Outcome.DUPLICATE,
        Outcome.RESOLVED,
        Outcome.REOPENED,
    ]
    first, second, third = await rows(engine)
    assert [results[i].id for i in (0, 4, 7)] == [first["id"], second["id"], third["id"]]
    assert (first["status"], first["duplicate_count"], first["previous_id"]) == ("resolved", 2, None)
    assert (second["status"], second["duplicate_count"], second["previous_id"]) == ("resolved", 1, first["id"])
    assert (third["status"], third["duplicate_count"], third["previous_id"]) == ("firing", 0, second["id"])
    assert third["active_key"] == "default/flappy"
    assert [(e["kind"], e["detail"]) for e in await events(engine, first["id"])] == [
        ("duplicate", {"count": 2}),
        ("resolved", {"by": "source"}),
    ]
    assert sorted(kinds(await events(engine, second["id"]))) == ["duplicate", "reopened", "resolved"]
    assert kinds(await events(engine, third["id"])) == ["reopened"]


async def test_resolve_and_fire_again_in_one_batch_on_an_open_alert(engine: AsyncEngine) -> None:
    """The occurrence that follows a resolution in the same batch needs the key the resolution frees."""
    [first] = await store(engine, [alert("fp-1")])
    t1 = T0 + timedelta(minutes=1)
    results = await store(engine, [alert("fp-1"), alert("fp-1", resolved=True), alert("fp-1")], now=t1)

    assert [r.outcome for r in results] == [Outcome.DUPLICATE, Outcome.RESOLVED, Outcome.REOPENED]
    assert results[0].id == results[1].id == first.id
    old, new = await rows(engine)
    assert (old["id"], old["status"], old["active_key"], old["duplicate_count"]) == (first.id, "resolved", None, 1)
    assert old["resolved_at"] == t1
    assert (new["id"], new["status"], new["active_key"]) == (results[2].id, "firing", "default/fp-1")
    assert new["previous_id"] == first.id
    assert sorted(kinds(await events(engine, first.id))) == ["duplicate", "resolved"]
    assert kinds(await events(engine, new["id"])) == ["reopened"]

    # And a resolution first in the batch, with nothing before it.
    results = await store(engine, [alert("fp-1", resolved=True), alert("fp-1")], now=t1 + timedelta(minutes=1))
    assert [r.outcome for r in results] == [Outcome.RESOLVED, Outcome.REOPENED]
    assert results[0].id == new["id"]
    assert [r["status"] for r in await rows(engine)] == ["resolved", "resolved", "firing"]


async def test_an_open_alert_older_than_a_resolved_occurrence_is_still_found(engine: AsyncEngine) -> None:
    """What a resolution racing the alert's creation leaves behind (see test_concurrency): a
    resolved occurrence with a newer id than the open alert. Arrivals must land on the open one."""
    [open_alert] = await store(engine, [alert("fp-1")])
    async with db.write(engine) as conn:
        [stored] = (await conn.execute(select(alerts_table).where(alerts_table.c.id == open_alert.id))).mappings()
        newer = {**stored, "active_key": None, "status": "resolved", "resolved_at": T0, "resolved_by": "x"}
        del newer["id"]
        await conn.execute(alerts_table.insert().values(newer))

    t1 = T0 + timedelta(minutes=1)
    results = await store(engine, [alert("fp-1"), alert("fp-1", resolved=True)], now=t1)

    assert [(r.outcome, r.id) for r in results] == [
        (Outcome.DUPLICATE, open_alert.id),
        (Outcome.RESOLVED, open_alert.id),
    ]
    first, second = await rows(engine)
    assert (first["status"], first["duplicate_count"], first["active_key"]) == ("resolved", 1, None)
    assert second["status"] == "resolved"


async def test_a_long_flapping_batch_settles(engine: AsyncEngine) -> None:
    """Each fire/resolve pair is a new occurrence; a batch of many of them still stores them all."""
    pairs = 80
    batch = [alert("flapping", resolved=bool(i % 2)) for i in range(2 * pairs)]
    results = await store(engine, batch)

    assert len(results) == 2 * pairs
    stored = await rows(engine)
    assert len(stored) == pairs
    assert all(r["status"] == "resolved" for r in stored)
    assert [r["previous_id"] for r in stored] == [None, *(r["id"] for r in stored[:-1])]


async def test_datetimes_come_back_utc_aware(engine: AsyncEngine) -> None:
    shanghai = timezone(timedelta(hours=8))
    starts = datetime(2026, 3, 1, 20, 0, 0, 500000, tzinfo=shanghai)  # 12:00:00.5 UTC
    ends = T0 + timedelta(hours=1)
    await store(engine, [alert("fp-1", starts_at=starts, ends_at=ends)])
    await store(engine, [alert("fp-1", resolved=True, ends_at=ends)], now=T0 + timedelta(hours=2))

    [row] = await rows(engine)
    for name in ("starts_at", "ends_at", "first_received_at", "last_received_at", "resolved_at", "updated_at"):
        value = row[name]
        assert isinstance(value, datetime), name
        assert value.utcoffset() == timedelta(0), f"{name} is not UTC-aware: {value!r}"
    assert row["starts_at"] == starts
    assert row["starts_at"].hour == 12 and row["starts_at"].microsecond == 500000
    assert row["ends_at"] == ends
    for event in await events(engine):
        assert event["at"].utcoffset() == timedelta(0)


async def test_json_columns_round_trip_unicode_and_nesting(engine: AsyncEngine) -> None:
    metadata = {
        "server": "web-01",
        "cpu_usage": 95.2,
        "说明": "服务器CPU使用率达到95%",
        "nested": {"list": [1, 2.5, None, True, {"深": ["层", "🔥"]}], "empty": {}},
        "quote": 'a "quoted" \\ back\nslash',
    }
    first = alert(
        "fp-中文",
        title="服务器CPU使用率过高",
        description="服务器CPU使用率达到95% 请尽快处理",
        labels={"team": "数据库", "env": "生产"},
        annotations={"summary": "磁盘空间不足 ⚠"},
        tags=["cpu", "性能"],
        metadata=metadata,
    )
    [created] = await store(engine, [first])

    async with db.read(engine) as conn:
        stored = await alert_reads.get_alert(conn, "default", created.id)
    assert stored is not None
    assert stored["fingerprint"] == "fp-中文"
    assert stored["active_key"] == "default/fp-中文"
    for name in ("title", "description", "labels", "annotations", "tags", "metadata"):
        assert stored[name] == getattr(first, name), name

    # An update writes JSON through the other path (UPDATE, not INSERT) and events keep unicode too.
    changed = {"说明": "已恢复", "nested": {"深": [{"层": "✓"}]}}
    await store(
        engine, [alert("fp-中文", metadata=changed, tags=["恢复"], actor="api-key:监控")], now=T0 + timedelta(1)
    )
    async with db.read(engine) as conn:
        stored = await alert_reads.get_alert(conn, "default", created.id)
        assert stored is not None
        timeline = await alert_reads.timeline(conn, stored)
    assert stored["metadata"] == changed
    assert stored["tags"] == ["恢复"]
    assert [e["kind"] for e in timeline] == ["received", "duplicate"]
    assert timeline[1]["actor"] == "api-key:监控"
