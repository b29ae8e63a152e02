"""POST /api/v1/alerts: the native body, validation, outcomes and de-duplication, on every backend."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.api.conftest import ALERTS, Clock, get_alert, ingest, list_alerts, parse_time, post_alerts
from tests.conftest import Api, make_api

CPU = {
    "source": "monitoring-system",
    "severity": "critical",
    "title": "服务器CPU使用率过高",
    "description": "服务器CPU使用率达到95%",
    "tags": ["cpu", "performance"],
    "metadata": {"server": "web-01", "cpu_usage": 95.2},
}


def alert(**fields: Any) -> dict[str, Any]:
    return {"source": "prometheus", "title": "disk full", **fields}


async def all_alerts(api: Api) -> list[dict[str, Any]]:
    return (await list_alerts(api, limit=500))["items"]  # type: ignore[no-any-return]


class TestAnswers:
    async def test_single_alert_answers_one_result(self, api: Api) -> None:
        response = await post_alerts(api, CPU)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert set(body) == {"id", "fingerprint", "outcome", "status"}
        assert isinstance(body["id"], int) and body["id"] >= 1
        assert (body["outcome"], body["status"]) == ("created", "firing")
        stored = await get_alert(api, body["id"])
        assert stored["fingerprint"] == body["fingerprint"]
        assert stored["title"] == CPU["title"]
        assert stored["description"] == CPU["description"]
        assert stored["severity"] == "critical"
        assert stored["tags"] == ["cpu", "performance"]
        assert stored["metadata"] == {"server": "web-01", "cpu_usage": 95.2}
        assert stored["source"] == "monitoring-system"
        assert stored["status"] == "firing"
        assert stored["duplicate_count"] == 0
        assert stored["previous_id"] is None

    async def test_list_answers_count_and_results_in_order(self, api: Api) -> None:
        body = [alert(title="a"), alert(title="b"), alert(title="a"), alert(title="c", status="resolved")]
        answer = await ingest(api, body)
        assert set(answer) == {"count", "results"}
        assert answer["count"] == 4
        results = answer["results"]
        assert [r["outcome"] for r in results] == ["created", "created", "duplicate", "resolved"]
        assert [r["status"] for r in results] == ["firing", "firing", "firing", "resolved"]
        assert results[0]["id"] == results[2]["id"]
        assert len({results[0]["id"], results[1]["id"], results[3]["id"]}) == 3
        for result in results:
            assert set(result) == {"id", "fingerprint", "outcome", "status"}
        assert results[0]["fingerprint"] == results[2]["fingerprint"] != results[1]["fingerprint"]

    async def test_a_one_item_list_is_still_a_list_answer(self, sqlite_api: Api) -> None:
        answer = await ingest(sqlite_api, [alert()])
        assert answer["count"] == 1 and len(answer["results"]) == 1

    async def test_defaults_apply(self, sqlite_api: Api) -> None:
        created = await ingest(sqlite_api, {"source": "s", "title": "t"})
        stored = await get_alert(sqlite_api, created["id"])
        assert stored["severity"] == "warning"
        assert stored["status"] == "firing"
        assert (stored["description"], stored["labels"], stored["tags"], stored["metadata"]) == ("", {}, [], {})
        assert stored["dedup_key"] is None and stored["ends_at"] is None

    async def test_strings_are_stripped(self, sqlite_api: Api) -> None:
        created = await ingest(sqlite_api, {"source": "  s  ", "title": "  t "})
        stored = await get_alert(sqlite_api, created["id"])
        assert (stored["source"], stored["title"]) == ("s", "t")


class TestOutcomes:
    async def test_created_duplicate_resolved_reopened(self, api: Api) -> None:
        first = await ingest(api, alert())
        assert first["outcome"] == "created"
        again = await ingest(api, alert())
        assert (again["outcome"], again["id"], again["status"]) == ("duplicate", first["id"], "firing")
        done = await ingest(api, alert(status="resolved"))
        assert (done["outcome"], done["id"], done["status"]) == ("resolved", first["id"], "resolved")
        late = await ingest(api, alert(status="resolved"))
        assert (late["outcome"], late["id"], late["status"]) == ("duplicate", first["id"], "resolved")
        back = await ingest(api, alert())
        assert back["outcome"] == "reopened" and back["status"] == "firing"
        assert back["id"] != first["id"]
        assert back["fingerprint"] == first["fingerprint"]
        reopened = await get_alert(api, back["id"])
        assert reopened["previous_id"] == first["id"]
        assert [e["kind"] for e in reopened["timeline"]] == ["received", "reopened"]
        assert reopened["timeline"][1]["detail"] == {"previous_id": first["id"]}
        old = await get_alert(api, first["id"])
        assert old["status"] == "resolved"
        assert old["duplicate_count"] == 1

    async def test_resolved_for_an_unknown_alert_is_stored_resolved(self, api: Api) -> None:
        answer = await ingest(api, alert(status="resolved"))
        assert (answer["outcome"], answer["status"]) == ("resolved", "resolved")
        stored = await get_alert(api, answer["id"])
        assert stored["status"] == "resolved"
        assert stored["resolved_at"] is not None
        assert stored["resolved_by"] == "api-key:admin"

    async def test_ends_at_in_the_past_resolves(self, clocked_api: Api, clock: Clock) -> None:
        api = clocked_api
        first = await ingest(api, alert())
        clock.advance(minutes=10)
        ended = clock.now - timedelta(minutes=3)
        answer = await ingest(api, alert(ends_at=ended.isoformat()))
        assert (answer["outcome"], answer["id"], answer["status"]) == ("resolved", first["id"], "resolved")
        stored = await get_alert(api, first["id"])
        assert stored["status"] == "resolved"
        assert parse_time(stored["ends_at"]) == ended
        assert parse_time(stored["resolved_at"]) == clock.now

    async def test_ends_at_in_the_past_on_a_new_alert_stores_it_resolved(self, clocked_api: Api, clock: Clock) -> None:
        ended = clock.now - timedelta(hours=1)
        answer = await ingest(clocked_api, alert(ends_at=ended.isoformat()))
        assert answer["outcome"] == "resolved"
        stored = await get_alert(clocked_api, answer["id"])
        assert parse_time(stored["ends_at"]) == ended

    async def test_ends_at_in_the_future_keeps_it_firing(self, clocked_api: Api, clock: Clock) -> None:
        ends = clock.now + timedelta(hours=1)
        answer = await ingest(clocked_api, alert(ends_at=ends.isoformat()))
        assert (answer["outcome"], answer["status"]) == ("created", "firing")
        stored = await get_alert(clocked_api, answer["id"])
        assert parse_time(stored["ends_at"]) == ends

    async def test_a_resolved_alert_fired_resolved_and_fired_in_one_batch(self, api: Api) -> None:
        answer = await ingest(api, [alert(), alert(status="resolved"), alert(), alert()])
        outcomes = [r["outcome"] for r in answer["results"]]
        assert outcomes == ["created", "resolved", "reopened", "duplicate"]
        ids = [r["id"] for r in answer["results"]]
        assert ids[0] == ids[1] != ids[2] == ids[3]
        assert (await get_alert(api, ids[2]))["previous_id"] == ids[0]

    async def test_an_open_alert_resolved_and_fired_again_in_one_batch(self, api: Api) -> None:
        first = await ingest(api, alert())
        answer = await ingest(api, [alert(), alert(status="resolved"), alert()])
        results = answer["results"]
        assert [r["outcome"] for r in results] == ["duplicate", "resolved", "reopened"]
        assert results[0]["id"] == results[1]["id"] == first["id"] != results[2]["id"]
        assert (await get_alert(api, results[2]["id"]))["previous_id"] == first["id"]
        assert [a["status"] for a in await all_alerts(api)] == ["firing", "resolved"]


class TestSeverity:
    async def test_aliases_are_mapped(self, sqlite_api: Api) -> None:
        aliases = [("error", "high"), ("major", "high"), ("minor", "warning"), ("page", "critical"), ("INFO", "info")]
        for given, stored in aliases:
            answer = await ingest(sqlite_api, alert(title=given, severity=given))
            assert (await get_alert(sqlite_api, answer["id"]))["severity"] == stored, given

    async def test_unknown_severity_is_422_naming_the_field(self, sqlite_api: Api) -> None:
        response = await post_alerts(sqlite_api, alert(severity="apocalyptic"))
        assert response.status_code == 422
        body = response.json()
        assert [e["loc"] for e in body["detail"]] == [["body", "severity"]]
        assert "apocalyptic" in body["detail"][0]["msg"]
        assert body["message"].startswith("severity:")
        assert await all_alerts(sqlite_api) == []

    async def test_non_string_severity_is_422(self, sqlite_api: Api) -> None:
        response = await post_alerts(sqlite_api, alert(severity=3))
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "severity"]


class TestValidation:
    async def test_a_batch_is_validated_as_a_whole(self, api: Api) -> None:
        batch = [alert(title=f"t{i}") for i in range(5)]
        batch[3]["severity"] = "bogus"
        response = await post_alerts(api, batch)
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert [e["loc"] for e in detail] == [["body", 3, "severity"]]
        assert response.json()["message"].startswith("[3].severity:")
        assert await all_alerts(api) == []

    async def test_every_invalid_alert_of_a_batch_is_named(self, sqlite_api: Api) -> None:
        batch = [alert(), {"source": "s"}, alert(), alert(labels={"bad-name": "x"})]
        response = await post_alerts(sqlite_api, batch)
        assert response.status_code == 422
        locs = [e["loc"] for e in response.json()["detail"]]
        assert ["body", 1, "title"] in locs
        assert ["body", 3, "labels"] in locs
        assert await all_alerts(sqlite_api) == []

    async def test_empty_list_is_422(self, sqlite_api: Api) -> None:
        response = await post_alerts(sqlite_api, [])
        assert response.status_code == 422
        assert response.json()["detail"][0]["type"] == "too_short"

    INVALID_FIELDS = [
        ({"title": "t"}, ["body", "source"]),
        ({"source": "s"}, ["body", "title"]),
        ({"source": "", "title": "t"}, ["body", "source"]),
        ({"source": "s", "title": "   "}, ["body", "title"]),
        ({"source": "s", "title": "t", "colour": "red"}, ["body", "colour"]),
        ({"source": "s", "title": "t", "status": "open"}, ["body", "status"]),
        ({"source": "s", "title": "t", "labels": {"1st": "x"}}, ["body", "labels"]),
        ({"source": "s", "title": "t", "labels": {"team-name": "x"}}, ["body", "labels"]),
        ({"source": "s", "title": "t", "labels": {"team": 1}}, ["body", "labels", "team"]),
        ({"source": "s", "title": "t", "tags": "cpu"}, ["body", "tags"]),
        ({"source": "s", "title": "t", "tags": [""]}, ["body", "tags", 0]),
        ({"source": "s", "title": "t", "starts_at": "yesterday"}, ["body", "starts_at"]),
        ({"source": "s", "title": "t", "ends_at": "0001-01-01T00:00:00+00:01"}, ["body", "ends_at"]),
        ({"source": "s", "title": "t", "dedup_key": ""}, ["body", "dedup_key"]),
        ({"source": "s", "title": "x" * 501}, ["body", "title"]),
    ]

    async def test_invalid_fields_are_named(self, sqlite_api: Api) -> None:
        for body, loc in self.INVALID_FIELDS:
            response = await post_alerts(sqlite_api, body)
            assert response.status_code == 422, (body, response.text)
            assert loc in [e["loc"] for e in response.json()["detail"]], body
        assert await all_alerts(sqlite_api) == []

    async def test_unknown_field_is_refused_not_dropped(self, sqlite_api: Api) -> None:
        response = await post_alerts(sqlite_api, alert(serverity="critical"))
        assert response.status_code == 422
        assert response.json()["detail"][0]["type"] == "extra_forbidden"

    async def test_invalid_label_name_says_why(self, sqlite_api: Api) -> None:
        response = await post_alerts(sqlite_api, alert(labels={"ok_name": "1", "not ok": "2"}))
        assert response.status_code == 422
        assert "not ok" in response.json()["detail"][0]["msg"]

    async def test_invalid_json_is_422_not_500(self, sqlite_api: Api) -> None:
        for raw in (b"", b"{", b"[1,", b'{"source": "s", "title": }', b"\xff\xfe\x00", b"nul", b"[{]", b"{'a': 1}"):
            response = await sqlite_api.client.post(ALERTS, content=raw, headers=sqlite_api.auth())
            assert response.status_code == 422, (raw, response.text)
            assert response.json()["detail"][0]["loc"] == ["body"], raw

    async def test_json_that_is_not_an_alert_is_422(self, sqlite_api: Api) -> None:
        for raw in (b"null", b"42", b'"alert"', b"true", b"[1, 2]", b"[[]]"):
            response = await sqlite_api.client.post(ALERTS, content=raw, headers=sqlite_api.auth())
            assert response.status_code == 422, (raw, response.text)

    async def test_integers_json_columns_cannot_hold_are_422_not_500(self, api: Api) -> None:
        for metadata in ({"host": 2**64}, {"cpu_usage": -(2**70)}, {"nested": [{"n": 10**30}]}):
            response = await post_alerts(api, alert(metadata=metadata))
            assert response.status_code == 422, (metadata, response.status_code, response.text)
            assert response.json()["detail"][0]["loc"][:2] == ["body", "metadata"]
        assert await all_alerts(api) == []

    UNSTORABLE = [
        (rb'{"source": "s", "title": "a\u0000b"}', ["body", "title"]),
        (rb'{"source": "s", "title": "t", "labels": {"x": "\u0000"}}', ["body", "labels"]),
        (rb'{"source": "s", "title": "t", "metadata": {"x": ["\u0000"]}}', ["body", "metadata"]),
        (rb'{"source": "s", "title": "t", "tags": ["x\u0000"]}', ["body", "tags"]),
        (rb'{"source": "s", "title": "t", "annotations": {"a\u0000": "x"}}', ["body", "annotations"]),
        (rb'{"source": "s", "title": "t", "dedup_key": "k\u0000"}', ["body", "dedup_key"]),
        (rb'{"source": "s", "title": "t", "description": "\ud83d"}', ["body"]),  # a lone surrogate: not JSON
    ]

    async def test_text_no_database_can_store_is_422_not_a_server_error(self, api: Api) -> None:
        for raw, loc in self.UNSTORABLE:
            response = await api.client.post(ALERTS, content=raw, headers=api.auth())
            assert response.status_code == 422, (raw, response.text)
            assert response.json()["detail"][0]["loc"] == loc, raw
        assert await all_alerts(api) == []

    async def test_paired_surrogates_and_other_control_characters_are_fine(self, api: Api) -> None:
        raw = rb'{"source": "s", "title": "fire \ud83d\udd25 \t tab", "metadata": {"emoji": "\ud83d\udd25"}}'
        response = await api.client.post(ALERTS, content=raw, headers=api.auth())
        assert response.status_code == 200, response.text
        stored = await get_alert(api, response.json()["id"])
        assert stored["title"] == "fire \U0001f525 \t tab"
        assert stored["metadata"] == {"emoji": "\U0001f525"}

    async def test_body_need_not_be_sent_as_json_content_type(self, sqlite_api: Api) -> None:
        headers = {**sqlite_api.auth(), "Content-Type": "text/plain"}
        response = await sqlite_api.client.post(ALERTS, content=json.dumps(alert()).encode(), headers=headers)
        assert response.status_code == 200


@pytest.fixture
async def small_api(sqlite_url: str) -> AsyncIterator[Api]:
    async for made in make_api(sqlite_url, ingest_max_batch=5, ingest_max_body_bytes=2048):
        yield made


class TestLimits:
    async def test_batch_at_the_limit_is_accepted(self, small_api: Api) -> None:
        answer = await ingest(small_api, [alert(title=f"t{i}") for i in range(5)])
        assert answer["count"] == 5

    async def test_batch_over_the_limit_is_422_and_writes_nothing(self, small_api: Api) -> None:
        response = await post_alerts(small_api, [alert(title=f"t{i}") for i in range(6)])
        assert response.status_code == 422
        assert "at most 5" in response.json()["detail"][0]["msg"]
        assert await all_alerts(small_api) == []

    async def test_body_over_the_size_limit_is_413(self, small_api: Api) -> None:
        response = await post_alerts(small_api, alert(description="x" * 3000))
        assert response.status_code == 413
        assert "2048" in response.json()["detail"]
        assert await all_alerts(small_api) == []

    async def test_body_at_the_size_limit_is_accepted(self, small_api: Api) -> None:
        body = json.dumps(alert(description="")).encode()
        padded = json.dumps(alert(description="x" * (2048 - len(body)))).encode()
        assert len(padded) == 2048
        response = await small_api.client.post(ALERTS, content=padded, headers=small_api.auth())
        assert response.status_code == 200, response.text

    async def test_streamed_body_without_content_length_is_limited_too(self, small_api: Api) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"source": "s", "title": "t", "description": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}'

        response = await small_api.client.post(ALERTS, content=chunks(), headers=small_api.auth())
        assert response.status_code == 413
        assert await all_alerts(small_api) == []

    async def test_a_lying_small_content_length_does_not_bypass_the_limit(self, small_api: Api) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield json.dumps(alert(description="x" * 4000)).encode()

        headers = {**small_api.auth(), "Content-Length": "10"}
        response = await small_api.client.post(ALERTS, content=chunks(), headers=headers)
        assert response.status_code == 413


class TestDuplicates:
    async def test_duplicate_refreshes_count_time_content_and_severity(self, clocked_api: Api, clock: Clock) -> None:
        api = clocked_api
        first = await ingest(api, {**CPU, "severity": "warning"})
        created = await get_alert(api, first["id"])
        clock.advance(minutes=2)
        await ingest(api, {**CPU, "severity": "warning", "metadata": {"server": "web-01", "cpu_usage": 97.0}})
        clock.advance(minutes=3)
        changed = {
            **CPU,
            "severity": "critical",
            "description": "now 99%",
            "metadata": {"server": "web-01", "cpu_usage": 99.1},
        }
        answer = await ingest(api, changed)
        assert (answer["outcome"], answer["id"]) == ("duplicate", first["id"])

        stored = await get_alert(api, first["id"])
        assert stored["duplicate_count"] == 2
        assert parse_time(stored["first_received_at"]) == parse_time(created["first_received_at"])
        assert parse_time(stored["last_received_at"]) == clock.now
        assert stored["metadata"] == {"server": "web-01", "cpu_usage": 99.1}
        assert stored["description"] == "now 99%"
        assert stored["severity"] == "critical"
        timeline = stored["timeline"]
        assert [e["kind"] for e in timeline] == ["received", "duplicate", "severity_changed", "duplicate"]
        change = timeline[2]
        assert change["detail"] == {"from": "warning", "to": "critical"}
        assert change["actor"] == "api-key:admin"
        assert parse_time(change["at"]) == clock.now
        assert [e["detail"].get("count") for e in timeline if e["kind"] == "duplicate"] == [1, 1]

    async def test_duplicates_in_one_batch_are_one_event_with_a_count(self, api: Api) -> None:
        answer = await ingest(api, [alert() for _ in range(6)])
        assert [r["outcome"] for r in answer["results"]] == ["created"] + ["duplicate"] * 5
        stored = await get_alert(api, answer["results"][0]["id"])
        assert stored["duplicate_count"] == 5
        assert [(e["kind"], e["detail"]) for e in stored["timeline"]] == [("received", {}), ("duplicate", {"count": 5})]

    async def test_dedup_key_overrides_the_identity(self, api: Api) -> None:
        first = await ingest(api, alert(title="backup failed", dedup_key="backup-db-1"))
        other = await ingest(api, {"source": "cron", "title": "backup failed again", "dedup_key": "backup-db-1"})
        assert (other["outcome"], other["id"]) == ("duplicate", first["id"])
        assert first["fingerprint"] == "backup-db-1"
        stored = await get_alert(api, first["id"])
        assert stored["dedup_key"] == "backup-db-1"
        assert stored["title"] == "backup failed again"
        assert stored["source"] == "prometheus"  # the source that created it
        same_without_key = await ingest(api, alert(title="backup failed"))
        assert same_without_key["outcome"] == "created"

    async def test_metadata_outside_the_identity_does_not_make_new_alerts(self, api: Api) -> None:
        ids = set()
        for usage in (91.0, 95.5, 99.9):
            ids.add((await ingest(api, {**CPU, "metadata": {"server": "web-01", "cpu_usage": usage}}))["id"])
        assert len(ids) == 1
        other_server = await ingest(api, {**CPU, "metadata": {"server": "web-02", "cpu_usage": 99.9}})
        assert other_server["outcome"] == "created"
        for key in ("host", "instance", "service", "resource"):
            assert (await ingest(api, {**CPU, "metadata": {key: "x"}}))["outcome"] == "created", key
        assert len(await all_alerts(api)) == 6

    async def test_labels_are_identity(self, api: Api) -> None:
        first = await ingest(api, alert(labels={"team": "db", "env": "prod"}))
        reordered = await ingest(api, alert(labels={"env": "prod", "team": "db"}))
        assert reordered["id"] == first["id"]
        other = await ingest(api, alert(labels={"team": "web", "env": "prod"}))
        assert other["id"] != first["id"]

    async def test_concurrent_repeats_make_exactly_one_alert(self, api: Api) -> None:
        body = alert(title="storm", labels={"instance": "db-1"})
        responses = await asyncio.gather(*(post_alerts(api, body) for _ in range(50)))
        assert [r.status_code for r in responses] == [200] * 50
        answers = [r.json() for r in responses]
        assert len({a["id"] for a in answers}) == 1
        assert sorted(a["outcome"] for a in answers) == ["created"] + ["duplicate"] * 49
        items = await all_alerts(api)
        assert len(items) == 1
        assert items[0]["duplicate_count"] == 49
        stored = await get_alert(api, items[0]["id"])
        counts = [e["detail"]["count"] for e in stored["timeline"] if e["kind"] == "duplicate"]
        assert sum(counts) == 49

    async def test_concurrent_batches_of_many_alerts(self, api: Api) -> None:
        batch = [alert(title=f"t{i}") for i in range(20)]
        responses = await asyncio.gather(*(post_alerts(api, batch) for _ in range(8)))
        assert all(r.status_code == 200 for r in responses)
        items = await all_alerts(api)
        assert len(items) == 20
        assert {a["duplicate_count"] for a in items} == {7}
