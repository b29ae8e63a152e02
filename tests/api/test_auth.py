"""API keys: who may call what, how keys are sent, created, listed and revoked."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from alert_handler.security.keys import Scope, hash_key
from tests.api.conftest import ALERTS, ingest
from tests.conftest import Api, make_api

KEYS = "/api/v1/api-keys"
BODY = {"source": "s", "title": "t"}


async def call(api: Api, method: str, path: str, headers: dict[str, str], body: Any = None) -> int:
    response = await api.client.request(method, path, headers=headers, json=body)
    return response.status_code


class TestWithoutAValidKey:
    ROUTES = [
        ("POST", ALERTS, BODY),
        ("GET", ALERTS, None),
        ("GET", f"{ALERTS}/1", None),
        ("GET", f"{ALERTS}/stats", None),
        ("PUT", f"{ALERTS}/1/status", {"status": "resolved"}),
        ("POST", f"{ALERTS}/1/acknowledge", None),
        ("POST", f"{ALERTS}/1/resolve", None),
        ("POST", f"{ALERTS}/1/notes", {"text": "x"}),
        ("GET", KEYS, None),
        ("POST", KEYS, {"name": "k", "scopes": ["read"]}),
        ("DELETE", f"{KEYS}/1", None),
    ]

    async def test_every_api_route_needs_a_key(self, sqlite_api: Api) -> None:
        for method, path, body in self.ROUTES:
            for headers in ({}, {"Authorization": "Bearer ah_not-a-real-key"}):
                response = await sqlite_api.client.request(method, path, headers=headers, json=body)
                assert response.status_code == 401, (method, path, headers, response.text)
                assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_missing_and_bogus_keys_say_what_is_wrong(self, api: Api) -> None:
        missing = await api.client.get(ALERTS)
        assert missing.status_code == 401
        assert "missing" in missing.json()["detail"]
        bogus = await api.client.get(ALERTS, headers={"Authorization": "Bearer ah_bogus"})
        assert bogus.status_code == 401
        assert "invalid" in bogus.json()["detail"]
        assert "ah_bogus" not in bogus.text

    MALFORMED = [
        "Bearer",
        "Bearer ",
        "Token {key}",
        "{key}",
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"user:").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ]

    async def test_malformed_authorization_is_401(self, sqlite_api: Api) -> None:
        for authorization in self.MALFORMED:
            header = authorization.format(key=sqlite_api.admin_key)
            response = await sqlite_api.client.get(ALERTS, headers={"Authorization": header})
            assert response.status_code == 401, authorization

    async def test_nothing_is_written_without_a_key(self, sqlite_api: Api) -> None:
        assert (await sqlite_api.client.post(ALERTS, json=BODY)).status_code == 401
        listed = await sqlite_api.client.get(ALERTS, headers=sqlite_api.auth())
        assert listed.json()["total"] == 0


class TestScopes:
    async def test_what_each_scope_may_do(self, api: Api) -> None:
        alert_id = (await ingest(api, BODY))["id"]
        keys = {scope: await api.key(scope, name=scope.value) for scope in Scope}
        checks = [
            ("POST", ALERTS, BODY, {Scope.INGEST, Scope.ADMIN}),
            ("GET", ALERTS, None, {Scope.READ, Scope.WRITE, Scope.ADMIN}),
            ("GET", f"{ALERTS}/{alert_id}", None, {Scope.READ, Scope.WRITE, Scope.ADMIN}),
            ("GET", f"{ALERTS}/stats", None, {Scope.READ, Scope.WRITE, Scope.ADMIN}),
            ("POST", f"{ALERTS}/{alert_id}/notes", {"text": "x"}, {Scope.WRITE, Scope.ADMIN}),
            ("GET", KEYS, None, {Scope.ADMIN}),
        ]
        for method, path, body, allowed in checks:
            for scope, key in keys.items():
                status = await call(api, method, path, api.auth(key), body)
                expected = 200 if scope in allowed else 403
                assert status == expected, (method, path, scope, status)

    async def test_status_changes_need_write(self, api: Api) -> None:
        alert_id = (await ingest(api, BODY))["id"]
        for scope in (Scope.INGEST, Scope.READ):
            key = await api.key(scope, name=scope.value)
            for method, path, body in (
                ("PUT", f"{ALERTS}/{alert_id}/status", {"status": "acknowledged"}),
                ("POST", f"{ALERTS}/{alert_id}/acknowledge", None),
                ("POST", f"{ALERTS}/{alert_id}/resolve", None),
            ):
                assert await call(api, method, path, api.auth(key), body) == 403, (scope, path)
        writer = await api.key(Scope.WRITE, name="writer")
        assert await call(api, "POST", f"{ALERTS}/{alert_id}/acknowledge", api.auth(writer)) == 200
        assert await call(api, "POST", f"{ALERTS}/{alert_id}/resolve", api.auth(writer)) == 200

    async def test_forbidden_says_which_scope_is_missing(self, sqlite_api: Api) -> None:
        key = await sqlite_api.key(Scope.INGEST)
        response = await sqlite_api.client.get(ALERTS, headers=sqlite_api.auth(key))
        assert response.status_code == 403
        assert "'read'" in response.json()["detail"]
        assert "www-authenticate" not in response.headers

    async def test_a_key_with_several_scopes_has_them_all(self, sqlite_api: Api) -> None:
        key = await sqlite_api.key(Scope.INGEST, Scope.READ)
        assert await call(sqlite_api, "POST", ALERTS, sqlite_api.auth(key), BODY) == 200
        assert await call(sqlite_api, "GET", ALERTS, sqlite_api.auth(key)) == 200
        assert await call(sqlite_api, "GET", KEYS, sqlite_api.auth(key)) == 403

    async def test_the_actor_is_the_key_name(self, sqlite_api: Api) -> None:
        key = await sqlite_api.key(Scope.INGEST, Scope.WRITE, name="alertmanager-eu")
        answer = await ingest(sqlite_api, {**BODY, "status": "resolved"})
        response = await sqlite_api.client.post(
            f"{ALERTS}/{answer['id']}/notes", json={"text": "x"}, headers=sqlite_api.auth(key)
        )
        assert response.json()["timeline"][-1]["actor"] == "api-key:alertmanager-eu"


class TestHowKeysAreSent:
    async def test_x_api_key_header(self, api: Api) -> None:
        key = await api.key(Scope.READ)
        assert (await api.client.get(ALERTS, headers={"X-API-Key": key})).status_code == 200
        assert (await api.client.get(ALERTS, headers={"X-API-Key": "ah_wrong"})).status_code == 401

    async def test_x_api_key_wins_over_authorization(self, sqlite_api: Api) -> None:
        reader = await sqlite_api.key(Scope.READ)
        headers = {"X-API-Key": reader, "Authorization": "Bearer ah_wrong"}
        assert (await sqlite_api.client.get(ALERTS, headers=headers)).status_code == 200

    async def test_bearer_scheme_is_case_insensitive(self, sqlite_api: Api) -> None:
        headers = {"Authorization": f"bearer {sqlite_api.admin_key}"}
        assert (await sqlite_api.client.get(ALERTS, headers=headers)).status_code == 200

    async def test_basic_auth_with_the_key_as_password(self, api: Api) -> None:
        key = await api.key(Scope.INGEST)
        for user in ("prometheus", ""):
            token = base64.b64encode(f"{user}:{key}".encode()).decode()
            response = await api.client.post(ALERTS, json=BODY, headers={"Authorization": f"Basic {token}"})
            assert response.status_code == 200, response.text
        assert (await api.client.post(ALERTS, json=BODY, auth=("amtool", key))).status_code == 200
        assert (await api.client.post(ALERTS, json=BODY, auth=(key, "wrong"))).status_code == 401


class TestKeyManagement:
    async def test_create_returns_the_key_once(self, api: Api) -> None:
        response = await api.client.post(
            KEYS, json={"name": "grafana", "scopes": ["ingest", "read"]}, headers=api.auth()
        )
        assert response.status_code == 201, response.text
        created = response.json()
        key = created["key"]
        assert key.startswith("ah_") and len(key) > 40
        assert created["prefix"] == key[: len(created["prefix"])]
        assert (created["name"], created["scopes"], created["tenant"]) == ("grafana", ["ingest", "read"], "default")
        assert created["revoked_at"] is None
        assert (await api.client.get(ALERTS, headers=api.auth(key))).status_code == 200

        listed = await api.client.get(KEYS, headers=api.auth())
        assert listed.status_code == 200
        entries = listed.json()
        assert [e["name"] for e in entries] == ["admin", "grafana"]
        for entry in entries:
            assert set(entry) == {"id", "name", "prefix", "scopes", "tenant", "created_at", "revoked_at"}
        assert key not in listed.text
        assert hash_key(key) not in listed.text
        assert api.admin_key not in listed.text
        assert hash_key(api.admin_key) not in listed.text

    async def test_no_key_appears_in_any_read_answer(self, api: Api) -> None:
        ingester = await api.key(Scope.INGEST, name="sender")
        writer = await api.key(Scope.WRITE, name="person")
        answer = (await api.client.post(ALERTS, json=BODY, headers=api.auth(ingester))).json()
        alert_id = answer["id"]
        await api.client.post(f"{ALERTS}/{alert_id}/notes", json={"text": "n"}, headers=api.auth(writer))
        await api.client.post(f"{ALERTS}/{alert_id}/acknowledge", headers=api.auth(writer))
        created = (await api.client.post(KEYS, json={"name": "new", "scopes": ["read"]}, headers=api.auth())).json()
        secrets = [api.admin_key, ingester, writer, created["key"]]
        secrets += [hash_key(s) for s in secrets]
        for path in (ALERTS, f"{ALERTS}/{alert_id}", f"{ALERTS}/stats", KEYS):
            text = (await api.client.get(path, headers=api.auth())).text
            for secret in secrets:
                assert secret not in text, path
        assert "api-key:person" in (await api.client.get(f"{ALERTS}/{alert_id}", headers=api.auth())).text

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "", "scopes": ["read"]},
            {"name": "x", "scopes": []},
            {"name": "x", "scopes": ["superuser"]},
            {"name": "x", "scopes": ["read"], "tenant": "Bad Tenant"},
            {"name": "x", "scopes": ["read"], "key": "ah_mine"},
        ],
    )
    async def test_invalid_key_requests_are_422(self, sqlite_api: Api, body: dict[str, Any]) -> None:
        response = await sqlite_api.client.post(KEYS, json=body, headers=sqlite_api.auth())
        assert response.status_code == 422

    async def test_revocation_takes_effect_at_once(self, api: Api) -> None:
        response = await api.client.post(KEYS, json={"name": "temp", "scopes": ["read"]}, headers=api.auth())
        created = response.json()
        assert (await api.client.get(ALERTS, headers=api.auth(created["key"]))).status_code == 200  # now cached
        revoke = await api.client.delete(f"{KEYS}/{created['id']}", headers=api.auth())
        assert revoke.status_code == 204
        assert revoke.content == b""
        after = await api.client.get(ALERTS, headers=api.auth(created["key"]))
        assert after.status_code == 401
        listed = {e["id"]: e for e in (await api.client.get(KEYS, headers=api.auth())).json()}
        assert listed[created["id"]]["revoked_at"] is not None
        again = await api.client.delete(f"{KEYS}/{created['id']}", headers=api.auth())
        assert again.status_code == 404
        assert (await api.client.delete(f"{KEYS}/999999", headers=api.auth())).status_code == 404

    async def test_other_keys_keep_working_after_a_revocation(self, sqlite_api: Api) -> None:
        keep = await sqlite_api.key(Scope.READ, name="keep")
        drop = (
            await sqlite_api.client.post(KEYS, json={"name": "drop", "scopes": ["read"]}, headers=sqlite_api.auth())
        ).json()
        await sqlite_api.client.delete(f"{KEYS}/{drop['id']}", headers=sqlite_api.auth())
        assert (await sqlite_api.client.get(ALERTS, headers=sqlite_api.auth(keep))).status_code == 200

    async def test_a_key_of_another_tenant_sees_only_its_tenant(self, api: Api) -> None:
        mine = (await ingest(api, BODY))["id"]
        response = await api.client.post(
            KEYS, json={"name": "other", "scopes": ["ingest", "write"], "tenant": "acme"}, headers=api.auth()
        )
        assert response.json()["tenant"] == "acme"
        other = response.json()["key"]
        assert (await api.client.get(f"{ALERTS}/{mine}", headers=api.auth(other))).status_code == 404
        assert (await api.client.post(f"{ALERTS}/{mine}/acknowledge", headers=api.auth(other))).status_code == 404
        assert (await api.client.get(ALERTS, headers=api.auth(other))).json()["total"] == 0
        theirs = await api.client.post(ALERTS, json=BODY, headers=api.auth(other))
        assert theirs.json()["outcome"] == "created"  # the same alert in another tenant is another alert
        assert theirs.json()["id"] != mine
        assert (await api.client.get(ALERTS, headers=api.auth())).json()["total"] == 1


@pytest.fixture
async def open_api(sqlite_url: str) -> AsyncIterator[Api]:
    async for made in make_api(sqlite_url, auth_enabled=False):
        yield made


class TestAuthDisabled:
    async def test_requests_pass_without_a_key(self, open_api: Api) -> None:
        answer = await open_api.client.post(ALERTS, json=BODY)
        assert answer.status_code == 200
        alert_id = answer.json()["id"]
        assert (await open_api.client.get(ALERTS)).status_code == 200
        ack = await open_api.client.post(f"{ALERTS}/{alert_id}/acknowledge")
        assert ack.status_code == 200
        assert ack.json()["acknowledged_by"] == "api-key:anonymous"
        assert (await open_api.client.get(KEYS)).status_code == 200

    async def test_any_key_is_ignored(self, open_api: Api) -> None:
        response = await open_api.client.get(ALERTS, headers={"Authorization": "Bearer ah_whatever"})
        assert response.status_code == 200
