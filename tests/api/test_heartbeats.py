"""/api/v1/heartbeats: beats, the alert a missing heartbeat fires on the scheduler's tick, and the
beat that resolves it, with a clock the test moves."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import yaml

from alert_handler.processing.channel_pool import ChannelPool
from alert_handler.processing.pipeline import Pipeline, StaticSnapshot
from alert_handler.processing.run import Report, TickState, tick
from alert_handler.routing.config import parse_config
from alert_handler.security.keys import Scope
from tests.api.conftest import T0, Clock, get_alert, list_alerts, parse_time
from tests.conftest import Api

CONFIG = parse_config(yaml.safe_load("receivers: [{name: log, type: log}]\nroute: {receiver: log}"))
BEATS = "/api/v1/heartbeats"


async def beat(api: Api, name: str, key: str | None = None, body: Any = None, **params: str) -> httpx.Response:
    return await api.client.post(f"{BEATS}/{name}", params=params, json=body, headers=api.auth(key))


async def run_tick(api: Api, clock: Clock) -> Report:
    """The scheduler's tick, as the embedded worker or Celery beat runs it."""
    pipeline = Pipeline(api.engine, lambda: StaticSnapshot.of(CONFIG), ChannelPool(), clock)
    try:
        return await tick(pipeline, TickState())
    finally:
        await pipeline.channels.close()


async def heartbeat_alerts(api: Api) -> list[dict[str, Any]]:
    return (await list_alerts(api, source="heartbeat", sort="created_at"))["items"]  # type: ignore[no-any-return]


class TestMissingAndBack:
    async def test_missing_past_timeout_fires_and_a_beat_resolves(self, clocked_api: Api, clock: Clock) -> None:
        api = clocked_api
        first = await beat(api, "watchdog", timeout="5m")
        assert first.status_code == 201, first.text
        answer = first.json()
        assert (answer["name"], answer["timeout"], answer["status"], answer["created"]) == (
            "watchdog",
            "5m",
            "ok",
            True,
        )
        assert parse_time(answer["expires_at"]) == T0.replace(minute=5)

        clock.advance(minutes=4, seconds=59)
        assert (await run_tick(api, clock)).heartbeats_missed == 0
        assert await heartbeat_alerts(api) == []

        clock.advance(seconds=2)
        assert (await run_tick(api, clock)).heartbeats_missed == 1
        [fired] = await heartbeat_alerts(api)
        assert fired["status"] == "firing"
        assert fired["fingerprint"] == fired["dedup_key"] == "heartbeat:watchdog"
        assert fired["title"] == "Heartbeat watchdog missing"
        assert fired["severity"] == "critical"
        assert fired["labels"] == {"alertname": "HeartbeatMissing", "heartbeat": "watchdog"}
        assert parse_time(fired["starts_at"]) == T0.replace(minute=5)

        clock.advance(minutes=3)
        assert (await run_tick(api, clock)).heartbeats_missed == 0  # still missing: no second alert
        listed = (await api.client.get(BEATS, headers=api.auth())).json()
        assert listed[0]["status"] == "missing" and listed[0]["alerting_since"] is not None

        back = await beat(api, "watchdog")
        assert back.status_code == 200, back.text
        assert back.json()["resolved_alert_id"] == fired["id"]
        assert back.json()["status"] == "ok"
        resolved = await get_alert(api, fired["id"])
        assert resolved["status"] == "resolved"
        assert resolved["resolved_by"] == "api-key:admin"
        assert resolved["duplicate_count"] == 0
        kinds = [(e["kind"], e["actor"]) for e in resolved["timeline"]]
        assert kinds[0] == ("received", "source:heartbeat")
        assert ("resolved", "api-key:admin") in kinds

        again = await beat(api, "watchdog")
        assert again.json()["resolved_alert_id"] is None

        clock.advance(minutes=6)
        await run_tick(api, clock)
        alerts = await heartbeat_alerts(api)
        assert len(alerts) == 2
        reopened = await get_alert(api, alerts[-1]["id"])
        assert reopened["status"] == "firing" and reopened["previous_id"] == fired["id"]

    async def test_timeout_is_kept_between_beats(self, clocked_api: Api, clock: Clock) -> None:
        await beat(clocked_api, "nightly-backup", timeout="1d")
        clock.advance(hours=23)
        answer = (await beat(clocked_api, "nightly-backup")).json()
        assert answer["timeout"] == "1d"
        clock.advance(hours=23)
        await run_tick(clocked_api, clock)
        assert await heartbeat_alerts(clocked_api) == []

    async def test_concurrent_first_beats_make_one_heartbeat(self, clocked_api: Api) -> None:
        answers = await asyncio.gather(*(beat(clocked_api, "race", timeout="1m") for _ in range(4)))
        assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
        assert len((await clocked_api.client.get(BEATS, headers=clocked_api.auth())).json()) == 1


class TestBeatInput:
    async def test_new_heartbeat_defaults_to_five_minutes(self, sqlite_api: Api) -> None:
        answer = (await beat(sqlite_api, "app-1")).json()
        assert (answer["timeout"], answer["severity"]) == ("5m", "critical")

    async def test_body_and_query(self, sqlite_api: Api) -> None:
        answer = (await beat(sqlite_api, "app-1", body={"timeout": 90, "severity": "warn"})).json()
        assert (answer["timeout"], answer["severity"]) == ("1m30s", "warning")
        answer = (await beat(sqlite_api, "app-1", body={"timeout": "10m"}, timeout="2m")).json()
        assert answer["timeout"] == "2m"  # the query wins

    async def test_an_alertmanager_webhook_body_is_ignored(self, sqlite_api: Api) -> None:
        body = {
            "version": "4",
            "status": "firing",
            "alerts": [{"status": "firing", "labels": {"alertname": "Watchdog"}}],
        }
        response = await beat(sqlite_api, "watchdog", body=body, timeout="5m")
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize(
        ("params", "body", "loc"),
        [
            ({"timeout": "soon"}, None, ["query", "timeout"]),
            ({"timeout": "0s"}, None, ["query", "timeout"]),
            ({"timeout": "400d"}, None, ["query", "timeout"]),
            ({}, {"timeout": [1]}, ["body", "timeout"]),
            ({"severity": "urgent"}, None, ["query", "severity"]),
        ],
    )
    async def test_invalid_input_names_the_field(
        self, sqlite_api: Api, params: dict[str, str], body: Any, loc: list[str]
    ) -> None:
        response = await beat(sqlite_api, "app-1", body=body, **params)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == loc

    async def test_invalid_name(self, sqlite_api: Api) -> None:
        assert (await beat(sqlite_api, "-bad name")).status_code == 422


class TestAccess:
    async def test_scopes(self, sqlite_api: Api) -> None:
        response = await sqlite_api.client.post(f"{BEATS}/x")
        assert response.status_code == 401
        reader = await sqlite_api.key(Scope.READ, name="reader")
        assert (await beat(sqlite_api, "x", key=reader)).status_code == 403
        sender = await sqlite_api.key(Scope.INGEST, name="sender")
        assert (await beat(sqlite_api, "x", key=sender)).status_code == 201
        deleted = await sqlite_api.client.delete(f"{BEATS}/x", headers=sqlite_api.auth(sender))
        assert deleted.status_code == 403


class TestDelete:
    async def test_delete_resolves_a_firing_alert(self, clocked_api: Api, clock: Clock) -> None:
        await beat(clocked_api, "cron", timeout="1m")
        clock.advance(minutes=2)
        await run_tick(clocked_api, clock)
        [fired] = await heartbeat_alerts(clocked_api)
        response = await clocked_api.client.delete(f"{BEATS}/cron", headers=clocked_api.auth())
        assert response.status_code == 204
        assert (await get_alert(clocked_api, fired["id"]))["status"] == "resolved"
        assert (await clocked_api.client.get(BEATS, headers=clocked_api.auth())).json() == []
        missing = await clocked_api.client.delete(f"{BEATS}/cron", headers=clocked_api.auth())
        assert missing.status_code == 404
