"""`/api/v1/silences` on every backend: create, list, read, change, expire, errors, keys, tenants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from alert_handler.security.keys import Scope
from alert_handler.store import api_keys
from tests.api.conftest import Clock, parse_time
from tests.conftest import Api

SILENCES = "/api/v1/silences"
BODY = {"matchers": ['alertname="DiskFull"'], "duration": "2h", "comment": "disk being replaced"}


async def post(api: Api, key: str | None = None, **fields: Any) -> httpx.Response:
    return await api.client.post(SILENCES, json={**BODY, **fields}, headers=api.auth(key))


async def create(api: Api, **fields: Any) -> dict[str, Any]:
    response = await post(api, **fields)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def put(api: Api, silence_id: str, **fields: Any) -> httpx.Response:
    return await api.client.put(f"{SILENCES}/{silence_id}", json={**BODY, **fields}, headers=api.auth())


async def listed(api: Api, key: str | None = None, **params: Any) -> list[dict[str, Any]]:
    response = await api.client.get(SILENCES, params=params, headers=api.auth(key))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def fetch(api: Api, silence_id: str) -> dict[str, Any]:
    response = await api.client.get(f"{SILENCES}/{silence_id}", headers=api.auth())
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


class TestCreate:
    async def test_with_a_duration_from_now(self, clocked_api: Api, clock: Clock) -> None:
        body = await create(clocked_api, matchers=["alertname = DiskFull", 'instance=~"db-.*"'])
        assert body["state"] == "active"
        assert body["matchers"] == ['alertname="DiskFull"', 'instance=~"db-.*"']
        assert parse_time(body["starts_at"]) == clock.now
        assert parse_time(body["ends_at"]) == clock.now + timedelta(hours=2)
        assert body["created_by"] == "admin"  # the API key's name
        assert body["comment"] == "disk being replaced"
        assert parse_time(body["updated_at"]) == clock.now
        assert await fetch(clocked_api, body["id"]) == body

    async def test_pending_with_explicit_times_becomes_active_then_expired(
        self, clocked_api: Api, clock: Clock
    ) -> None:
        starts = clock.now + timedelta(hours=1)
        body = await create(
            clocked_api,
            duration=None,
            starts_at=starts.isoformat(),
            ends_at=(starts + timedelta(minutes=30)).isoformat(),
            created_by="alice",
        )
        assert (body["state"], body["created_by"]) == ("pending", "alice")
        clock.advance(hours=1)
        assert (await fetch(clocked_api, body["id"]))["state"] == "active"
        clock.advance(minutes=30, microseconds=1)
        assert (await fetch(clocked_api, body["id"]))["state"] == "expired"

    async def test_a_start_in_the_past_means_now(self, clocked_api: Api, clock: Clock) -> None:
        body = await create(clocked_api, starts_at=(clock.now - timedelta(days=1)).isoformat(), duration="1h")
        assert parse_time(body["starts_at"]) == clock.now
        assert parse_time(body["ends_at"]) == clock.now + timedelta(hours=1)

    async def test_any_time_zone_is_accepted(self, clocked_api: Api, clock: Clock) -> None:
        ends = (clock.now + timedelta(hours=3)).astimezone(ZoneInfo("Asia/Shanghai"))
        body = await create(clocked_api, duration=None, ends_at=ends.isoformat())
        assert parse_time(body["ends_at"]) == ends


class TestInvalid:
    @pytest.mark.parametrize(
        ("fields", "where", "says"),
        [
            ({"matchers": ['alertname="X"', "not a matcher"]}, "matchers[1]", "is not a matcher"),
            ({"matchers": ['job=~"("']}, "matchers[0]", "invalid regular expression"),
            ({"matchers": []}, "matchers", "at least 1 item"),
            ({"matchers": ['team=""', "job=~.*"]}, "matchers", "must not match the empty string"),
            ({"duration": "2 hours"}, "duration", "is not a duration"),
            ({"duration": "999999999999y"}, "duration", "too long"),
            ({"duration": None}, "ends_at", "give ends_at or duration"),
            ({"ends_at": "2026-03-01T18:00:00Z"}, "duration", "not both"),
            ({"duration": None, "ends_at": "2026-03-01T18:00:00"}, "ends_at", "timezone"),
            ({"starts_at": "2026-03-01T18:00:00"}, "starts_at", "timezone"),
            ({"duration": None, "ends_at": "2026-03-01T11:00:00Z"}, "ends_at", "must not be in the past"),
            ({"duration": "0"}, "ends_at", "must be after starts_at"),
            ({"comment": ""}, "comment", "at least 1 character"),
            ({"comment": "   "}, "comment", "is required"),
            ({"comment": "a\x00b"}, "comment", "NUL"),
            ({"created_by": " "}, "created_by", "is required"),
            ({"duration": None, "ends_at": "9999-12-31T23:59:59-05:00"}, "ends_at", "year out of range"),
            ({"silence": "everything"}, "silence", "Extra inputs"),
        ],
    )
    async def test_answers_422_naming_the_field(
        self, clocked_api: Api, fields: dict[str, Any], where: str, says: str
    ) -> None:
        response = await post(clocked_api, **fields)
        assert response.status_code == 422, response.text
        message = response.json()["message"]
        assert message.startswith(f"{where}: "), message
        assert says in message
        assert await listed(clocked_api) == []

    async def test_comment_is_required(self, sqlite_api: Api) -> None:
        response = await sqlite_api.client.post(
            SILENCES, json={"matchers": ['a="b"'], "duration": "1h"}, headers=sqlite_api.auth()
        )
        assert response.status_code == 422
        assert response.json()["message"].startswith("comment: ")

    async def test_bad_list_filters(self, sqlite_api: Api) -> None:
        for params, where in (({"state": "muted"}, "state"), ({"matcher": "nope"}, "matcher")):
            response = await sqlite_api.client.get(SILENCES, params=params, headers=sqlite_api.auth())
            assert response.status_code == 422, response.text
            assert response.json()["message"].startswith(f"{where}: ")

    async def test_ids_that_are_no_silence(self, sqlite_api: Api) -> None:
        for silence_id, status in (("42", 404), ("x" * 37, 422), ("a%00b", 422)):
            response = await sqlite_api.client.get(f"{SILENCES}/{silence_id}", headers=sqlite_api.auth())
            assert response.status_code == status


class TestList:
    async def test_by_state_and_matcher(self, clocked_api: Api, clock: Clock) -> None:
        api = clocked_api
        active = await create(api, matchers=['team="db"'])
        pending = await create(api, starts_at=(clock.now + timedelta(hours=1)).isoformat())
        expired = await create(api, duration="1m")
        clock.advance(minutes=5)
        assert [s["id"] for s in await listed(api)] == [active["id"], pending["id"], expired["id"]]
        assert [s["id"] for s in await listed(api, state="active")] == [active["id"]]
        assert [s["id"] for s in await listed(api, state="pending")] == [pending["id"]]
        assert [(s["id"], s["state"]) for s in await listed(api, state="expired")] == [(expired["id"], "expired")]
        assert [s["id"] for s in await listed(api, matcher='team="db"')] == [active["id"]]
        assert await listed(api, matcher=['team="db"', 'alertname="DiskFull"']) == []


class TestUpdate:
    async def test_extending_an_active_silence_keeps_its_id(self, clocked_api: Api, clock: Clock) -> None:
        made = await create(clocked_api)
        clock.advance(minutes=10)
        response = await put(clocked_api, made["id"], duration="4h", comment="takes longer")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == made["id"]
        assert body["starts_at"] == made["starts_at"]
        assert parse_time(body["ends_at"]) == clock.now + timedelta(hours=4)
        assert (body["comment"], body["state"]) == ("takes longer", "active")
        assert parse_time(body["updated_at"]) == clock.now
        assert [s["id"] for s in await listed(clocked_api)] == [made["id"]]

    async def test_new_matchers_replace_the_silence(self, clocked_api: Api, clock: Clock) -> None:
        made = await create(clocked_api)
        clock.advance(minutes=10)
        response = await put(clocked_api, made["id"], matchers=['alertname="DiskFull"', 'host="db1"'])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] != made["id"]
        assert parse_time(body["starts_at"]) == clock.now
        old = await fetch(clocked_api, made["id"])
        assert parse_time(old["ends_at"]) == clock.now
        clock.advance(seconds=1)
        assert (await fetch(clocked_api, made["id"]))["state"] == "expired"
        assert [s["id"] for s in await listed(clocked_api, state="active")] == [body["id"]]

    async def test_an_expired_silence_comes_back_as_a_new_one(self, clocked_api: Api, clock: Clock) -> None:
        made = await create(clocked_api, duration="1m")
        clock.advance(minutes=5)
        body = (await put(clocked_api, made["id"], duration="1h")).json()
        assert body["id"] != made["id"] and body["state"] == "active"
        assert await fetch(clocked_api, made["id"]) == {**made, "state": "expired"}

    async def test_unknown_and_invalid(self, clocked_api: Api) -> None:
        unknown = await put(clocked_api, "9b2f4f7e-3d7b-4c55-9a55-4f1f0e4b8d11")
        assert unknown.status_code == 404
        made = await create(clocked_api)
        response = await put(clocked_api, made["id"], matchers=["x"])
        assert response.status_code == 422
        assert response.json()["message"].startswith("matchers[0]: ")
        assert await fetch(clocked_api, made["id"]) == made


class TestExpire:
    async def test_expire_then_again(self, clocked_api: Api, clock: Clock) -> None:
        made = await create(clocked_api)
        clock.advance(minutes=10)
        response = await clocked_api.client.delete(f"{SILENCES}/{made['id']}", headers=clocked_api.auth())
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["id"], body["state"]) == (made["id"], "expired")
        assert parse_time(body["ends_at"]) == clock.now
        clock.advance(seconds=1)
        assert (await fetch(clocked_api, made["id"]))["state"] == "expired"
        again = await clocked_api.client.delete(f"{SILENCES}/{made['id']}", headers=clocked_api.auth())
        assert again.status_code == 409
        assert "already expired" in again.json()["detail"]

    async def test_a_pending_silence_never_starts(self, clocked_api: Api, clock: Clock) -> None:
        made = await create(clocked_api, starts_at=(clock.now + timedelta(hours=1)).isoformat())
        body = (await clocked_api.client.delete(f"{SILENCES}/{made['id']}", headers=clocked_api.auth())).json()
        assert parse_time(body["starts_at"]) == parse_time(body["ends_at"]) == clock.now

    async def test_unknown(self, sqlite_api: Api) -> None:
        response = await sqlite_api.client.delete(
            f"{SILENCES}/9b2f4f7e-3d7b-4c55-9a55-4f1f0e4b8d11", headers=sqlite_api.auth()
        )
        assert response.status_code == 404


class TestKeys:
    async def test_read_key_reads_but_cannot_change(self, api: Api) -> None:
        made = await create(api)
        read = await api.key(Scope.READ, name="dashboard")
        assert [s["id"] for s in await listed(api, read)] == [made["id"]]
        assert (await post(api, read)).status_code == 403
        for method in ("PUT", "DELETE"):
            response = await api.client.request(method, f"{SILENCES}/{made['id']}", json=BODY, headers=api.auth(read))
            assert response.status_code == 403

    async def test_write_key_creates_under_its_name(self, api: Api) -> None:
        key = await api.key(Scope.WRITE, name="oncall-bob")
        response = await post(api, key)
        assert response.status_code == 201, response.text
        assert response.json()["created_by"] == "oncall-bob"

    async def test_no_key(self, sqlite_api: Api) -> None:
        assert (await sqlite_api.client.get(SILENCES)).status_code == 401

    async def test_a_tenant_sees_only_its_silences(self, api: Api) -> None:
        mine = await create(api)
        async with api.engine.begin() as conn:
            _, other = await api_keys.create(
                conn, name="other", scopes=[Scope.WRITE], tenant="other", now=datetime.now(UTC)
            )
        assert await listed(api, other) == []
        theirs = (await post(api, other)).json()
        assert [s["id"] for s in await listed(api)] == [mine["id"]]
        for method in ("GET", "PUT", "DELETE"):
            body = BODY if method == "PUT" else None
            response = await api.client.request(method, f"{SILENCES}/{mine['id']}", json=body, headers=api.auth(other))
            assert response.status_code == 404, method
        assert (await fetch(api, mine["id"]))["state"] == "active"
        assert [s["id"] for s in await listed(api, other)] == [theirs["id"]]


async def test_metrics_count_silences_by_state(clocked_api: Api, clock: Clock) -> None:
    await create(clocked_api)
    await create(clocked_api, starts_at=(clock.now + timedelta(hours=1)).isoformat())
    text = (await clocked_api.client.get("/metrics")).text
    assert 'alert_handler_silences{state="active"} 1.0' in text
    assert 'alert_handler_silences{state="pending"} 1.0' in text
    assert 'alert_handler_silences{state="expired"} 0.0' in text
