"""The silence repository on every backend: round trips, states, in_force, update and expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler import db
from alert_handler.domain.matchers import parse_matcher
from alert_handler.muting.silences import Silence, SilenceState
from alert_handler.store import silences

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def silence(
    silence_id: str = "",
    *,
    matchers: tuple[str, ...] = ('alertname="DiskFull"',),
    starts: timedelta = timedelta(0),
    ends: timedelta = timedelta(hours=2),
    **fields: str,
) -> Silence:
    return Silence(
        id=silence_id or silences.new_id(),
        matchers=[parse_matcher(m) for m in matchers],
        starts_at=T0 + starts,
        ends_at=T0 + ends,
        created_by=fields.get("created_by", "alice"),
        comment=fields.get("comment", "disk being replaced"),
        updated_at=T0,
    )


async def create(engine: AsyncEngine, made: Silence, tenant: str = "default") -> Silence:
    async with db.write(engine) as conn:
        return await silences.create(conn, made, tenant)


async def get(engine: AsyncEngine, silence_id: str, tenant: str = "default") -> Silence | None:
    async with db.read(engine) as conn:
        return await silences.get(conn, tenant, silence_id)


class TestRoundTrip:
    async def test_a_stored_silence_reads_back_equal(self, engine: AsyncEngine) -> None:
        made = silence(matchers=('job=~"api|web"', 'team!="db"', 'msg="say \\"hi\\"\\n"', "env!~staging.*"))
        await create(engine, made)
        assert await get(engine, made.id) == made

    async def test_times_come_back_aware_in_utc(self, engine: AsyncEngine) -> None:
        made = silence()
        await create(engine, made)
        found = await get(engine, made.id)
        assert found is not None
        assert found.starts_at.tzinfo is not None and found.starts_at == T0

    async def test_another_tenant_does_not_see_it(self, engine: AsyncEngine) -> None:
        made = await create(engine, silence())
        assert await get(engine, made.id, tenant="other") is None

    def test_row_holds_canonical_matcher_text(self) -> None:
        row = silences.to_row(silence(matchers=("team = db",)), "default")
        assert row["matchers"] == ['team="db"']
        assert row["created_at"] == row["updated_at"] == T0


class TestList:
    async def seed(self, engine: AsyncEngine) -> dict[str, Silence]:
        made = {
            "pending": silence(starts=timedelta(hours=1), ends=timedelta(hours=3)),
            "active": silence(matchers=('team="db"',), starts=-timedelta(hours=1), ends=timedelta(hours=1)),
            "active_longer": silence(starts=-timedelta(hours=1), ends=timedelta(hours=5)),
            "expired": silence(starts=-timedelta(hours=3), ends=-timedelta(hours=1)),
            "expired_earlier": silence(starts=-timedelta(hours=4), ends=-timedelta(hours=2)),
        }
        for each in made.values():
            await create(engine, each)
        await create(engine, silence(), tenant="other")
        return made

    async def test_by_state_in_alertmanager_order(self, engine: AsyncEngine) -> None:
        made = await self.seed(engine)
        async with db.read(engine) as conn:
            everything = await silences.list_silences(conn, "default", now=T0)
            active = await silences.list_silences(conn, "default", now=T0, state=SilenceState.ACTIVE)
            pending = await silences.list_silences(conn, "default", now=T0, state=SilenceState.PENDING)
            expired = await silences.list_silences(conn, "default", now=T0, state=SilenceState.EXPIRED)
        order = ["active", "active_longer", "pending", "expired", "expired_earlier"]
        assert [s.id for s in everything] == [made[name].id for name in order]
        assert [s.id for s in active] == [made["active"].id, made["active_longer"].id]
        assert [s.id for s in pending] == [made["pending"].id]
        assert [s.id for s in expired] == [made["expired"].id, made["expired_earlier"].id]

    async def test_state_boundaries_as_alertmanager(self, engine: AsyncEngine) -> None:
        made = await create(engine, silence(starts=timedelta(0), ends=timedelta(hours=1)))
        async with db.read(engine) as conn:
            at_start = await silences.list_silences(conn, "default", now=T0, state=SilenceState.ACTIVE)
            at_end = await silences.list_silences(conn, "default", now=made.ends_at, state=SilenceState.ACTIVE)
            after = await silences.list_silences(
                conn, "default", now=made.ends_at + timedelta(microseconds=1), state=SilenceState.EXPIRED
            )
        assert [s.id for s in at_start] == [s.id for s in at_end] == [s.id for s in after] == [made.id]

    async def test_matcher_filter_needs_an_equal_matcher(self, engine: AsyncEngine) -> None:
        made = await self.seed(engine)
        async with db.read(engine) as conn:
            team = await silences.list_silences(conn, "default", now=T0, matchers=[parse_matcher("team=db")])
            other_op = await silences.list_silences(conn, "default", now=T0, matchers=[parse_matcher("team=~db")])
        assert [s.id for s in team] == [made["active"].id]
        assert other_op == []


class TestInForce:
    async def test_active_and_pending_of_the_tenant_only(self, engine: AsyncEngine) -> None:
        pending = await create(engine, silence(starts=timedelta(hours=1), ends=timedelta(hours=2)))
        active = await create(engine, silence(starts=-timedelta(hours=1), ends=timedelta(hours=1)))
        ends_now = await create(engine, silence(starts=-timedelta(hours=1), ends=timedelta(0)))
        await create(engine, silence(starts=-timedelta(hours=2), ends=-timedelta(microseconds=1)))
        await create(engine, silence(), tenant="other")
        async with db.read(engine) as conn:
            found = await silences.in_force(conn, "default", T0)
        assert {s.id for s in found} == {pending.id, active.id, ends_now.id}


class TestUpdate:
    async def update(self, engine: AsyncEngine, old: Silence, new: Silence, now: datetime) -> Silence:
        async with db.write(engine) as conn:
            locked = await silences.get(conn, "default", old.id, lock=True)
            assert locked == old
            return await silences.update(conn, "default", old, new, now)

    async def test_active_silence_extended_in_place(self, engine: AsyncEngine) -> None:
        old = await create(engine, silence(starts=-timedelta(hours=1), ends=timedelta(hours=1)))
        new = silence(old.id, starts=-timedelta(hours=1), ends=timedelta(hours=4), comment="longer")
        now = T0 + timedelta(minutes=5)
        used = await self.update(engine, old, new, now)
        assert used.id == old.id
        assert (used.starts_at, used.ends_at, used.comment, used.updated_at) == (
            old.starts_at, T0 + timedelta(hours=4), "longer", now,
        )  # fmt: skip
        assert await get(engine, old.id) == used

    async def test_new_matchers_expire_the_old_and_make_a_new_one(self, engine: AsyncEngine) -> None:
        old = await create(engine, silence(starts=-timedelta(hours=1), ends=timedelta(hours=1)))
        new = silence(old.id, matchers=('alertname="DiskFull"', 'host="db1"'), starts=-timedelta(hours=1))
        used = await self.update(engine, old, new, T0)
        assert used.id != old.id
        assert used.starts_at == T0  # a start in the past moves to now
        assert [str(m) for m in used.matchers] == ['alertname="DiskFull"', 'host="db1"']
        assert await get(engine, used.id) == used
        expired = await get(engine, old.id)
        assert expired is not None and expired.ends_at == T0 and expired.updated_at == T0
        assert expired.state(T0 + timedelta(microseconds=1)) is SilenceState.EXPIRED

    async def test_an_expired_silence_is_replaced_and_left_alone(self, engine: AsyncEngine) -> None:
        old = await create(engine, silence(starts=-timedelta(hours=3), ends=-timedelta(hours=1)))
        used = await self.update(engine, old, silence(old.id, ends=timedelta(hours=1)), T0)
        assert used.id != old.id
        assert await get(engine, old.id) == old

    async def test_pending_silence_moved_later_in_place(self, engine: AsyncEngine) -> None:
        old = await create(engine, silence(starts=timedelta(hours=1), ends=timedelta(hours=2)))
        new = silence(old.id, starts=timedelta(hours=2), ends=timedelta(hours=3))
        used = await self.update(engine, old, new, T0)
        assert used.id == old.id and used.starts_at == T0 + timedelta(hours=2)
        assert await get(engine, old.id) == used


class TestExpire:
    async def expire(self, engine: AsyncEngine, silence_id: str, now: datetime, tenant: str = "default") -> object:
        async with db.write(engine) as conn:
            return await silences.expire(conn, tenant, silence_id, now)

    async def test_active_ends_now(self, engine: AsyncEngine) -> None:
        made = await create(engine, silence(starts=-timedelta(hours=1)))
        outcome = await self.expire(engine, made.id, T0)
        assert outcome == silences.Expiry(made.expire(T0))
        found = await get(engine, made.id)
        assert found is not None and (found.starts_at, found.ends_at) == (made.starts_at, T0)

    async def test_pending_starts_and_ends_now(self, engine: AsyncEngine) -> None:
        made = await create(engine, silence(starts=timedelta(hours=1)))
        await self.expire(engine, made.id, T0)
        found = await get(engine, made.id)
        assert found is not None and (found.starts_at, found.ends_at) == (T0, T0)

    async def test_already_expired_is_reported_and_unchanged(self, engine: AsyncEngine) -> None:
        made = await create(engine, silence(starts=-timedelta(hours=2), ends=-timedelta(hours=1)))
        assert await self.expire(engine, made.id, T0) == silences.Expiry(made, already=True)
        assert await get(engine, made.id) == made

    async def test_unknown_or_other_tenant(self, engine: AsyncEngine) -> None:
        made = await create(engine, silence())
        assert await self.expire(engine, silences.new_id(), T0) == silences.Expiry(None)
        assert await self.expire(engine, made.id, T0, tenant="other") == silences.Expiry(None)
        assert await get(engine, made.id) == made


async def test_counts_by_state_across_tenants(engine: AsyncEngine) -> None:
    await create(engine, silence(starts=timedelta(hours=1)))
    await create(engine, silence(starts=-timedelta(hours=1)), tenant="other")
    await create(engine, silence(starts=-timedelta(hours=1)))
    await create(engine, silence(starts=-timedelta(hours=2), ends=-timedelta(hours=1)))
    async with db.read(engine) as conn:
        counts = await silences.counts_by_state(conn, T0)
    assert counts == {SilenceState.PENDING: 1, SilenceState.ACTIVE: 2, SilenceState.EXPIRED: 1}
