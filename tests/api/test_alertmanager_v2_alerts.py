"""`/api/v2/alerts` and `/api/v2/alerts/groups` on every backend: Alertmanager's shapes, time
semantics, 400 reasons, filters, groups and both ways Prometheus and amtool send a key."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from alert_handler.security.keys import Scope
from alert_handler.store import groups as group_store
from alert_handler.store.tables import alerts_table, groups_table
from tests.api.conftest import T0, Clock, list_alerts, make_clocked_api
from tests.conftest import Api

ALERTS = "/api/v2/alerts"
CONFIG = """
receivers:
  - {name: default-log, type: log}
  - {name: pager, type: log}
route:
  receiver: default-log
  routes:
    - {receiver: pager, matchers: ['severity="critical"']}
"""


@pytest.fixture
async def am(database_url: str, clock: Clock, tmp_path: Path) -> AsyncIterator[Api]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    async for made in make_clocked_api(database_url, clock, config_file=str(config)):
        yield made


def at(**delta: float) -> str:
    return (T0 + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def post(api: Api, *alerts: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return await api.client.post(ALERTS, json=list(alerts), headers=headers or api.auth())


async def send(api: Api, *alerts: Any) -> None:
    response = await post(api, *alerts)
    assert (response.status_code, response.content) == (200, b""), response.text


async def get(api: Api, path: str = ALERTS, **params: Any) -> Any:
    response = await api.client.get(path, params=params, headers=api.auth())
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_posted_alert_is_listed_as_alertmanager_lists_it(am: Api) -> None:
    alert = {
        "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-1"},
        "annotations": {"summary": "disk full"},
        "startsAt": at(minutes=-2),
        "endsAt": at(minutes=4),
        "generatorURL": "http://prometheus:9090/graph",
    }
    await send(am, alert)
    [listed] = await get(am)
    fingerprint = listed.pop("fingerprint")
    assert len(fingerprint) == 32
    assert listed == {
        **alert,
        "startsAt": "2026-03-01T11:58:00.000Z",
        "endsAt": "2026-03-01T12:04:00.000Z",
        "updatedAt": "2026-03-01T12:00:00.000Z",
        "receivers": [{"name": "pager"}],
        "status": {"state": "unprocessed", "silencedBy": [], "inhibitedBy": []},
    }
    [stored] = (await list_alerts(am))["items"]
    assert (stored["source"], stored["title"], stored["severity"]) == ("alertmanager", "disk full", "critical")
    assert stored["fingerprint"] == fingerprint


async def test_missing_ends_at_is_now_plus_resolve_timeout_and_a_repeat_extends(am: Api, clock: Clock) -> None:
    await send(am, {"labels": {"alertname": "HighLoad"}})
    [first] = await get(am)
    assert (first["startsAt"], first["endsAt"]) == (at(), at(minutes=5))
    clock.advance(minutes=3)
    await send(am, {"labels": {"alertname": "HighLoad"}})
    [second] = await get(am)
    assert second["fingerprint"] == first["fingerprint"] and second["startsAt"] == at()
    assert (second["endsAt"], second["updatedAt"]) == (at(minutes=8), at(minutes=3))
    [stored] = (await list_alerts(am))["items"]
    assert stored["duplicate_count"] == 1 and stored["status"] == "firing"


async def test_the_resolve_timeout_is_a_setting(database_url: str, clock: Clock) -> None:
    async for api in make_clocked_api(database_url, clock, resolve_timeout_seconds=60):
        await send(api, {"labels": {"alertname": "X"}})
        assert [a["endsAt"] for a in await get(api)] == [at(minutes=1)]


async def test_ends_at_in_the_past_resolves(am: Api, clock: Clock) -> None:
    await send(am, {"labels": {"alertname": "X"}, "startsAt": at(minutes=-10)})
    clock.advance(minutes=1)
    await send(am, {"labels": {"alertname": "X"}, "startsAt": at(minutes=-10), "endsAt": at(seconds=30)})
    assert await get(am) == []
    [stored] = (await list_alerts(am))["items"]
    assert stored["status"] == "resolved" and stored["ends_at"].startswith("2026-03-01T12:00:30")


async def test_an_alert_whose_end_passed_is_not_listed(am: Api, clock: Clock) -> None:
    await send(am, {"labels": {"alertname": "X"}, "endsAt": at(minutes=1)})
    assert len(await get(am)) == 1
    clock.advance(minutes=2)
    assert await get(am) == [], "Alertmanager lists only alerts that have not ended"


async def test_invalid_alerts_get_400_with_the_reason_and_nothing_is_stored(am: Api) -> None:
    response = await post(am, {"labels": {"alertname": "fine"}}, {"labels": {}})
    assert response.status_code == 400
    assert response.json() == "alerts[1].labels: at least one label pair required"
    response = await post(am, {"labels": {"bad name": "x"}})
    assert (response.status_code, response.json()) == (
        400,
        'alerts[0].labels: invalid label set: invalid name "bad name"',
    )
    response = await am.client.post(ALERTS, content=b"not json", headers=am.auth())
    assert response.status_code == 400 and "Invalid JSON" in response.json()
    assert await get(am) == []
    assert (await post(am)).status_code == 200, "an empty list is accepted"


async def _process(api: Api, labels: dict[str, str], suppressed_by: list[dict[str, Any]] | None) -> None:
    """Mark the alert with these labels as processing would."""
    async with api.engine.begin() as conn:
        rows = await conn.execute(select(alerts_table.c.id, alerts_table.c.labels))
        alert_id = next(r.id for r in rows if r.labels == labels)
        explanation = {"routes": [{"path": "route", "receiver": "pager"}]}
        values = {"pending_since": None, "explanation": explanation, "suppressed_by": suppressed_by}
        await conn.execute(update(alerts_table).where(alerts_table.c.id == alert_id).values(values))


async def _four_states(api: Api) -> None:
    await send(
        api,
        {"labels": {"alertname": "A", "state": "active"}},
        {"labels": {"alertname": "S", "state": "silenced"}},
        {"labels": {"alertname": "I", "state": "inhibited"}},
        {"labels": {"alertname": "U", "state": "unprocessed"}},
    )
    await _process(api, {"alertname": "A", "state": "active"}, None)
    await _process(api, {"alertname": "S", "state": "silenced"}, [{"kind": "silence", "id": "s-1"}])
    inhibition = {"kind": "inhibition", "id": "inhibit_rules[0]", "source_fingerprint": "f00"}
    await _process(api, {"alertname": "I", "state": "inhibited"}, [inhibition])


async def names(api: Api, path: str = ALERTS, **params: Any) -> list[str]:
    return sorted(a["labels"]["alertname"] for a in await get(api, path, **params))


async def test_states_and_the_filters_on_them(am: Api) -> None:
    await _four_states(am)
    by_name = {a["labels"]["alertname"]: a for a in await get(am)}
    assert by_name["A"]["status"] == {"state": "active", "silencedBy": [], "inhibitedBy": []}
    assert by_name["S"]["status"] == {"state": "suppressed", "silencedBy": ["s-1"], "inhibitedBy": []}
    assert by_name["I"]["status"] == {"state": "suppressed", "silencedBy": [], "inhibitedBy": ["f00"]}
    assert by_name["U"]["status"]["state"] == "unprocessed"
    assert by_name["A"]["receivers"] == [{"name": "pager"}], "where processing sent it"
    assert by_name["U"]["receivers"] == [{"name": "default-log"}], "where the routing tree would send it"

    assert await names(am) == ["A", "I", "S", "U"]
    assert await names(am, active="false") == ["I", "S", "U"]
    assert await names(am, silenced="false") == ["A", "I", "U"]
    assert await names(am, inhibited="false") == ["A", "S", "U"]
    assert await names(am, unprocessed="false") == ["A", "I", "S"]
    # amtool's `alert query` asks for exactly this.
    assert await names(am, active="true", silenced="false", inhibited="false", unprocessed="false") == ["A"]


async def test_a_repeat_waiting_for_processing_keeps_its_state(am: Api) -> None:
    await _four_states(am)
    await send(am, {"labels": {"alertname": "S", "state": "silenced"}})
    [silenced] = await get(am, filter='alertname="S"')
    assert silenced["status"] == {"state": "suppressed", "silencedBy": ["s-1"], "inhibitedBy": []}


async def test_label_and_receiver_filters(am: Api) -> None:
    await _four_states(am)
    assert await names(am, filter='state=~"(in|un).*"') == ["I", "U"]
    assert await names(am, filter=['state!="active"', 'alertname=~"[SU]"']) == ["S", "U"]
    assert await names(am, filter='{alertname="A",state="active"}') == ["A"]
    assert await names(am, receiver="pag.*") == ["A", "I", "S"]
    assert await names(am, receiver="default-log") == ["U"]
    assert await names(am, receiver="pag") == [], "the receiver expression is anchored"


async def test_bad_filters_are_400(am: Api) -> None:
    for params in ({"filter": "no operator"}, {"filter": 'a=~"("'}, {"receiver": "("}, {"active": "maybe"}):
        response = await am.client.get(ALERTS, params=params, headers=am.auth())
        assert response.status_code == 400, params
        assert isinstance(response.json(), str) and response.json()


async def test_groups_list_their_alerts_that_pass_the_filters(am: Api, clock: Clock) -> None:
    await _four_states(am)
    async with am.engine.begin() as conn:
        ids = {r.labels["alertname"]: r.id for r in await conn.execute(select(alerts_table))}
        rows = [
            {"tenant": "default", "group_key": key, "route_path": "route", "receiver": receiver, "labels": labels,
             "group_wait_s": 0.0, "group_interval_s": 1.0, "repeat_interval_s": 60.0, "next_flush_at": None,
             "notified_firing": None, "notified_resolved": None, "notified_at": None, "created_at": clock(),
             "updated_at": clock()}
            for key, receiver, labels in (("g1", "pager", {"team": "a"}), ("g2", "default-log", {"team": "b"}))
        ]  # fmt: skip
        await conn.execute(groups_table.insert(), rows)
        made = {r.group_key: r.id for r in await conn.execute(select(groups_table.c.group_key, groups_table.c.id))}
        pairs = [(made["g1"], ids["A"]), (made["g1"], ids["S"]), (made["g2"], ids["U"])]
        await group_store.add_members(conn, pairs, clock())

    groups = await get(am, f"{ALERTS}/groups")
    assert [(g["labels"], g["receiver"]) for g in groups] == [
        ({"team": "a"}, {"name": "pager"}),
        ({"team": "b"}, {"name": "default-log"}),
    ]
    assert sorted(a["labels"]["alertname"] for a in groups[0]["alerts"]) == ["A", "S"]
    fingerprints = [a["fingerprint"] for a in groups[0]["alerts"]]
    assert fingerprints == sorted(fingerprints)
    assert set(groups[0]["alerts"][0]) >= {"labels", "fingerprint", "status", "receivers", "startsAt", "endsAt"}

    only_silenced_out = await get(am, f"{ALERTS}/groups", silenced="false")
    assert [[a["labels"]["alertname"] for a in g["alerts"]] for g in only_silenced_out] == [["A"], ["U"]]
    by_receiver = await get(am, f"{ALERTS}/groups", receiver="default-.*")
    assert [g["receiver"]["name"] for g in by_receiver] == ["default-log"]
    none_left = await get(am, f"{ALERTS}/groups", filter='alertname="S"', silenced="false")
    assert none_left == [], "a group left without alerts is not listed"
    response = await am.client.get(f"{ALERTS}/groups", params={"receiver": "("}, headers=am.auth())
    assert response.status_code == 400


def basic(key: str, user: str = "prometheus") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


async def test_a_key_as_bearer_token_or_basic_auth_password(am: Api) -> None:
    ingest_key = await am.key(Scope.INGEST, name="prometheus")
    read_key = await am.key(Scope.READ, name="amtool")
    alert = {"labels": {"alertname": "X"}}
    assert (await post(am, alert, headers=basic(ingest_key))).status_code == 200
    assert (await post(am, alert, headers={"Authorization": f"Bearer {ingest_key}"})).status_code == 200
    for headers in (basic(read_key, user=""), {"Authorization": f"Bearer {read_key}"}):
        response = await am.client.get(ALERTS, headers=headers)
        assert response.status_code == 200 and len(response.json()) == 1

    assert (await post(am, alert, headers=basic(read_key))).status_code == 403, "posting alerts needs ingest"
    assert (await am.client.get(ALERTS, headers=basic(ingest_key))).status_code == 403, "reading needs read"
    assert (await am.client.get(ALERTS)).status_code == 401
    assert (await am.client.get(ALERTS, headers=basic("ah_wrong"))).status_code == 401
