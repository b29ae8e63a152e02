"""`/api/v2/silences` and `/api/v2/silence/{id}` on every backend: Alertmanager's shapes and
answers, over the same silences as `/api/v1/silences`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from alert_handler.security.keys import Scope
from tests.api.conftest import T0, Clock
from tests.conftest import Api

SILENCES = "/api/v2/silences"
MATCHER = {"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}


def at(**delta: float) -> str:
    return (T0 + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def body(**fields: Any) -> dict[str, Any]:
    return {
        "matchers": [MATCHER],
        "startsAt": at(),
        "endsAt": at(hours=2),
        "createdBy": "alice",
        "comment": "disk being replaced",
        **fields,
    }


async def post(api: Api, key: str | None = None, **fields: Any) -> httpx.Response:
    return await api.client.post(SILENCES, json=body(**fields), headers=api.auth(key))


async def create(api: Api, **fields: Any) -> str:
    response = await post(api, **fields)
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["silenceID"]
    return str(response.json()["silenceID"])


async def one(api: Api, silence_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/api/v2/silence/{silence_id}", headers=api.auth())
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_silence_round_trip_shared_with_v1(clocked_api: Api, clock: Clock) -> None:
    api = clocked_api
    regex = {"name": "instance", "value": "db-.*", "isRegex": True, "isEqual": False}
    silence_id = await create(api, matchers=[MATCHER, regex], startsAt=at(minutes=-5))
    assert await one(api, silence_id) == {
        "id": silence_id,
        "status": {"state": "active"},
        "updatedAt": at(),
        "comment": "disk being replaced",
        "createdBy": "alice",
        "startsAt": at(),  # a start in the past is now, as Alertmanager makes it
        "endsAt": at(hours=2),
        "matchers": [MATCHER, regex],
    }
    v1 = (await api.client.get(f"/api/v1/silences/{silence_id}", headers=api.auth())).json()
    assert v1["matchers"] == ['alertname="DiskFull"', 'instance!~"db-.*"'] and v1["state"] == "active"

    # One made through v1 is listed by v2, in Alertmanager's order: active, then pending.
    made = await api.client.post(
        "/api/v1/silences",
        json={"matchers": ['team="db"'], "starts_at": at(hours=1), "duration": "1h", "comment": "later"},
        headers=api.auth(),
    )
    listed = (await api.client.get(SILENCES, headers=api.auth())).json()
    assert [(s["id"], s["status"]["state"]) for s in listed] == [(silence_id, "active"), (made.json()["id"], "pending")]

    response = await api.client.delete(f"/api/v2/silence/{silence_id}", headers=api.auth())
    assert (response.status_code, response.content) == (200, b"")
    clock.advance(seconds=1)  # a silence is still active at the instant it ends
    expired = await one(api, silence_id)
    assert expired["status"] == {"state": "expired"} and expired["endsAt"] == at()
    again = await api.client.delete(f"/api/v2/silence/{silence_id}", headers=api.auth())
    assert (again.status_code, again.json()) == (500, f"silence {silence_id} already expired"), "Alertmanager's answer"
    v1_delete = await api.client.delete(f"/api/v1/silences/{made.json()['id']}", headers=api.auth())
    assert v1_delete.status_code == 200
    clock.advance(seconds=1)
    assert (await one(api, made.json()["id"]))["status"]["state"] == "expired"


async def test_posting_with_an_id_changes_that_silence(clocked_api: Api, clock: Clock) -> None:
    api = clocked_api
    silence_id = await create(api)
    clock.advance(minutes=10)
    # Same matchers, same start, a later end: changed in place, same id.
    same = await create(api, id=silence_id, endsAt=at(hours=4), comment="takes longer")
    assert same == silence_id
    changed = await one(api, silence_id)
    assert (changed["endsAt"], changed["comment"], changed["updatedAt"]) == (
        at(hours=4),
        "takes longer",
        at(minutes=10),
    )
    # Other matchers: the old one expires, a new one replaces it.
    other = {"name": "alertname", "value": "DiskAlmostFull", "isRegex": False, "isEqual": True}
    replacement = await create(api, id=silence_id, matchers=[other])
    assert replacement != silence_id
    clock.advance(seconds=1)
    assert (await one(api, silence_id))["status"]["state"] == "expired"
    assert (await one(api, replacement))["matchers"] == [other]

    missing = await post(api, id="00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and "not found" in missing.json()


async def test_filter_keeps_silences_having_each_matcher(clocked_api: Api) -> None:
    api = clocked_api
    first = await create(api)
    team = {"name": "team", "value": "db", "isRegex": False, "isEqual": True}
    second = await create(api, matchers=[MATCHER, team])

    async def ids(*filters: str) -> list[str]:
        response = await api.client.get(SILENCES, params={"filter": list(filters)}, headers=api.auth())
        assert response.status_code == 200, response.text
        return sorted(s["id"] for s in response.json())

    assert await ids('alertname="DiskFull"') == sorted([first, second])
    assert await ids('alertname="DiskFull"', 'team="db"') == [second]
    assert await ids('team=~"db"') == [], "the operator must be the same"
    bad = await api.client.get(SILENCES, params={"filter": "nonsense"}, headers=api.auth())
    assert bad.status_code == 400 and isinstance(bad.json(), str)


async def test_invalid_silences_get_400_with_the_reason(clocked_api: Api) -> None:
    api = clocked_api
    cases: list[tuple[dict[str, Any], str]] = [
        ({"endsAt": at(hours=-1), "startsAt": at(hours=-2)}, "endsAt: must not be in the past"),
        ({"endsAt": at()}, "endsAt: must be after startsAt"),
        ({"matchers": [{**MATCHER, "value": ""}]}, "matchers: at least one matcher must not match the empty string"),
        ({"matchers": [{**MATCHER, "name": "1bad"}]}, 'matchers[0]: invalid label name "1bad"'),
        ({"matchers": [{**MATCHER, "value": "(", "isRegex": True}]}, "matchers[0]: invalid regular expression"),
        ({"matchers": []}, "matchers: List should have at least 1 item"),
        ({"comment": "  "}, "comment: is required"),
        ({"startsAt": "soon"}, "startsAt: Input should be a valid datetime"),
    ]
    for fields, message in cases:
        response = await post(api, **fields)
        assert response.status_code == 400, (fields, response.text)
        assert message in response.json(), (fields, response.json())
    missing = await api.client.post(SILENCES, json={"matchers": [MATCHER]}, headers=api.auth())
    assert missing.status_code == 400 and "createdBy: Field required" in missing.json()
    assert (await api.client.get(SILENCES, headers=api.auth())).json() == []


async def test_unknown_ids_and_scopes(clocked_api: Api) -> None:
    api = clocked_api
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await api.client.get(f"/api/v2/silence/{unknown}", headers=api.auth())).status_code == 404
    assert (await api.client.delete(f"/api/v2/silence/{unknown}", headers=api.auth())).status_code == 404
    reader = await api.key(Scope.READ)
    assert (await post(api, key=reader)).status_code == 403
    silence_id = await create(api)
    assert (await api.client.delete(f"/api/v2/silence/{silence_id}", headers=api.auth(reader))).status_code == 403
    assert (await api.client.get(SILENCES, headers=api.auth(reader))).status_code == 200
