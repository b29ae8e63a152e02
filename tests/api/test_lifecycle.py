"""Status changes and notes made through the API, on every backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from alert_handler.security.keys import Scope
from tests.api.conftest import ALERTS, Clock, get_alert, ingest, parse_time
from tests.conftest import Api

BODY = {"source": "prometheus", "title": "disk full", "severity": "high"}


async def new_alert(api: Api, **fields: Any) -> int:
    return int((await ingest(api, {**BODY, **fields}))["id"])


async def put_status(api: Api, alert_id: int, key: str | None = None, **body: Any) -> Any:
    return await api.client.put(f"{ALERTS}/{alert_id}/status", json=body, headers=api.auth(key))


def kinds(alert: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in alert["timeline"]]


class TestStatus:
    async def test_acknowledge_records_who_and_when(self, clocked_api: Api, clock: Clock) -> None:
        api = clocked_api
        alert_id = await new_alert(api)
        clock.advance(minutes=4)
        key = await api.key(Scope.WRITE, name="oncall-alice")
        response = await put_status(api, alert_id, key, status="acknowledged")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == alert_id
        assert body["status"] == "acknowledged"
        assert body["acknowledged_by"] == "api-key:oncall-alice"
        assert parse_time(body["acknowledged_at"]) == clock.now
        assert body["resolved_at"] is None
        event = body["timeline"][-1]
        assert (event["kind"], event["actor"]) == ("acknowledged", "api-key:oncall-alice")
        assert event["detail"] == {"from": "firing", "to": "acknowledged"}
        assert parse_time(event["at"]) == clock.now
        assert await get_alert(api, alert_id) == body

    async def test_resolve_stores_the_note(self, clocked_api: Api, clock: Clock) -> None:
        api = clocked_api
        alert_id = await new_alert(api)
        clock.advance(minutes=9)
        response = await put_status(api, alert_id, status="resolved", resolution_note="freed 20 GB")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "resolved"
        assert body["resolution_note"] == "freed 20 GB"
        assert body["resolved_by"] == "api-key:admin"
        assert parse_time(body["resolved_at"]) == clock.now
        assert parse_time(body["ends_at"]) == clock.now
        event = body["timeline"][-1]
        assert event["kind"] == "resolved"
        assert event["detail"] == {"from": "firing", "to": "resolved", "note": "freed 20 GB"}

    async def test_resolve_keeps_a_past_ends_at_the_sender_gave(self, clocked_api: Api, clock: Clock) -> None:
        api = clocked_api
        ended = clock.now + timedelta(minutes=5)
        alert_id = await new_alert(api, ends_at=ended.isoformat())
        clock.advance(minutes=10)
        body = (await put_status(api, alert_id, status="resolved")).json()
        assert parse_time(body["ends_at"]) == ended
        assert body["resolution_note"] is None

    async def test_acknowledged_back_to_firing_clears_the_acknowledgement(self, api: Api) -> None:
        alert_id = await new_alert(api)
        assert (await put_status(api, alert_id, status="acknowledged")).status_code == 200
        response = await put_status(api, alert_id, status="firing")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "firing"
        assert body["acknowledged_by"] is None and body["acknowledged_at"] is None
        assert kinds(body) == ["received", "acknowledged", "unacknowledged"]
        assert body["timeline"][-1]["detail"] == {"from": "acknowledged", "to": "firing"}

    async def test_acknowledged_then_resolved(self, api: Api) -> None:
        alert_id = await new_alert(api)
        await put_status(api, alert_id, status="acknowledged")
        body = (await put_status(api, alert_id, status="resolved", resolution_note="done")).json()
        assert body["status"] == "resolved"
        assert body["acknowledged_by"] == "api-key:admin"  # kept: MTTA still counts it
        assert kinds(body) == ["received", "acknowledged", "resolved"]

    REFUSED = [
        (["resolved"], "acknowledged", "alert is resolved"),
        (["resolved"], "firing", "alert is resolved"),
        (["resolved"], "resolved", "already resolved"),
        ([], "firing", "already firing"),
        (["acknowledged"], "acknowledged", "already acknowledged"),
    ]

    async def test_refused_changes_are_409_with_the_reason(self, api: Api) -> None:
        for n, (path, target, reason) in enumerate(self.REFUSED):
            alert_id = await new_alert(api, title=f"alert {n}")
            for status in path:
                assert (await put_status(api, alert_id, status=status)).status_code == 200
            before = await get_alert(api, alert_id)
            response = await put_status(api, alert_id, status=target)
            assert response.status_code == 409, (path, target)
            assert reason in response.json()["detail"], (path, target)
            assert await get_alert(api, alert_id) == before, (path, target)

    async def test_unknown_alert_is_404(self, api: Api) -> None:
        response = await put_status(api, 999_999, status="acknowledged")
        assert response.status_code == 404
        assert "999999" in response.json()["detail"]

    @pytest.mark.parametrize(
        "body",
        [{"status": "closed"}, {}, {"status": "resolved", "note": "x"}, {"status": "resolved", "resolution_note": 1}],
    )
    async def test_invalid_status_bodies_are_422(self, sqlite_api: Api, body: dict[str, Any]) -> None:
        alert_id = await new_alert(sqlite_api)
        response = await sqlite_api.client.put(f"{ALERTS}/{alert_id}/status", json=body, headers=sqlite_api.auth())
        assert response.status_code == 422
        assert (await get_alert(sqlite_api, alert_id))["status"] == "firing"

    @pytest.mark.parametrize("alert_id", ["0", "-1", "abc", str(2**63)])
    async def test_ids_out_of_range_are_422(self, sqlite_api: Api, alert_id: str) -> None:
        response = await sqlite_api.client.put(
            f"{ALERTS}/{alert_id}/status", json={"status": "resolved"}, headers=sqlite_api.auth()
        )
        assert response.status_code == 422


class TestShortcuts:
    async def test_acknowledge(self, api: Api) -> None:
        alert_id = await new_alert(api)
        response = await api.client.post(f"{ALERTS}/{alert_id}/acknowledge", headers=api.auth())
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "acknowledged"
        again = await api.client.post(f"{ALERTS}/{alert_id}/acknowledge", headers=api.auth())
        assert again.status_code == 409

    async def test_resolve_with_and_without_a_body(self, api: Api) -> None:
        first, second = await new_alert(api, title="a"), await new_alert(api, title="b")
        response = await api.client.post(
            f"{ALERTS}/{first}/resolve", json={"resolution_note": "restarted"}, headers=api.auth()
        )
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["resolution_note"]) == ("resolved", "restarted")
        response = await api.client.post(f"{ALERTS}/{second}/resolve", headers=api.auth())
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["resolution_note"]) == ("resolved", None)
        again = await api.client.post(f"{ALERTS}/{second}/resolve", headers=api.auth())
        assert again.status_code == 409
        assert "already resolved" in again.json()["detail"]

    async def test_shortcuts_on_unknown_alerts_are_404(self, api: Api) -> None:
        for action in ("acknowledge", "resolve"):
            response = await api.client.post(f"{ALERTS}/424242/{action}", headers=api.auth())
            assert response.status_code == 404, action
        response = await api.client.post(f"{ALERTS}/424242/notes", json={"text": "x"}, headers=api.auth())
        assert response.status_code == 404


class TestNotes:
    async def test_notes_go_on_the_timeline_in_order(self, api: Api) -> None:
        alert_id = await new_alert(api)
        key = await api.key(Scope.WRITE, name="bob")
        for text in ("looking into it", "it was the backup job"):
            response = await api.client.post(f"{ALERTS}/{alert_id}/notes", json={"text": text}, headers=api.auth(key))
            assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "firing"  # a note changes no status
        notes = [e for e in body["timeline"] if e["kind"] == "note"]
        assert [n["detail"] for n in notes] == [{"text": "looking into it"}, {"text": "it was the backup job"}]
        assert {n["actor"] for n in notes} == {"api-key:bob"}
        assert all(isinstance(n["id"], int) for n in notes)
        assert notes[0]["id"] < notes[1]["id"]

    async def test_notes_on_a_resolved_alert_are_kept(self, api: Api) -> None:
        alert_id = await new_alert(api)
        await put_status(api, alert_id, status="resolved")
        response = await api.client.post(f"{ALERTS}/{alert_id}/notes", json={"text": "postmortem"}, headers=api.auth())
        assert response.status_code == 200
        assert kinds(response.json()) == ["received", "resolved", "note"]

    @pytest.mark.parametrize("body", [{"text": ""}, {}, {"text": "x", "extra": 1}, {"text": "x" * 10_001}])
    async def test_invalid_notes_are_422(self, sqlite_api: Api, body: dict[str, Any]) -> None:
        alert_id = await new_alert(sqlite_api)
        response = await sqlite_api.client.post(f"{ALERTS}/{alert_id}/notes", json=body, headers=sqlite_api.auth())
        assert response.status_code == 422
        assert kinds(await get_alert(sqlite_api, alert_id)) == ["received"]


class TestReopen:
    async def test_firing_again_after_a_manual_resolve_is_a_new_linked_occurrence(self, api: Api) -> None:
        first = await new_alert(api)
        await put_status(api, first, status="resolved", resolution_note="fixed")
        answer = await ingest(api, BODY)
        assert answer["outcome"] == "reopened"
        assert answer["status"] == "firing"
        assert answer["id"] != first
        reopened = await get_alert(api, answer["id"])
        assert reopened["previous_id"] == first
        assert reopened["status"] == "firing"
        assert reopened["duplicate_count"] == 0
        assert kinds(reopened) == ["received", "reopened"]
        old = await get_alert(api, first)
        assert (old["status"], old["resolution_note"], old["duplicate_count"]) == ("resolved", "fixed", 0)
        # Further repeats land on the new occurrence.
        repeat = await ingest(api, BODY)
        assert (repeat["outcome"], repeat["id"]) == ("duplicate", answer["id"])
        # And a third occurrence links to the second.
        await put_status(api, answer["id"], status="resolved")
        third = await ingest(api, BODY)
        assert third["outcome"] == "reopened"
        assert (await get_alert(api, third["id"]))["previous_id"] == answer["id"]

    async def test_acknowledged_alert_stays_one_alert_when_it_repeats(self, api: Api) -> None:
        alert_id = await new_alert(api)
        await put_status(api, alert_id, status="acknowledged")
        answer = await ingest(api, BODY)
        assert (answer["outcome"], answer["id"], answer["status"]) == ("duplicate", alert_id, "acknowledged")
        resolved = await ingest(api, {**BODY, "status": "resolved"})
        assert (resolved["outcome"], resolved["id"]) == ("resolved", alert_id)
        stored = await get_alert(api, alert_id)
        assert stored["status"] == "resolved"
        assert stored["resolved_by"] == "api-key:admin"
        assert kinds(stored) == ["received", "acknowledged", "duplicate", "resolved"]
        assert stored["timeline"][-1]["detail"] == {"by": "source"}
