"""`/api/v1/config` and `POST /-/reload`: objects through the API next to the file's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from alert_handler.errors import ConfigError
from alert_handler.routing.references import format_loc
from alert_handler.security.keys import Scope
from alert_handler.store.tables import config_objects_table
from tests.api.test_health import scrape
from tests.conftest import Api, make_api

CONFIG = "/api/v1/config"
FILE: dict[str, Any] = {
    "receivers": [
        {"name": "default-log", "type": "log"},
        {"name": "ops", "type": "webhook", "settings": {"url": "http://ops.example/hook"}},
    ],
    "route": {"receiver": "default-log", "routes": [{"receiver": "ops", "matchers": ['team="ops"']}]},
    "rules": [{"name": "tag-db", "matchers": ['service="db"'], "effects": {"tags": ["db"]}}],
}
PAGER = {"type": "webhook", "settings": {"url": "http://pager.example/hook"}}


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write(tmp_path / "alert-handler.yaml", FILE)


@pytest.fixture
async def capi(database_url: str, config_file: Path) -> AsyncIterator[Api]:
    async for made in make_api(database_url, config_file=str(config_file)):
        yield made


async def stored(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    async with api.engine.connect() as conn:
        rows = await conn.execute(select(config_objects_table).order_by(config_objects_table.c.id))
        return [(r.kind, r.name, r.body) for r in rows]


async def test_crud_on_every_backend(capi: Api) -> None:
    c, auth = capi.client, capi.auth()
    first = (await c.get(CONFIG, headers=auth)).json()
    assert first["provisioned"]["receivers"] == ["default-log", "ops"]
    assert first["provisioned"]["routes"] == ["route.routes[0]"]

    created = await c.put(f"{CONFIG}/receivers/pager", json=PAGER, headers=auth)
    assert created.status_code == 201, created.text
    shown_pager = {**PAGER, "settings": {"url": "http://pager.example/********"}}  # the URL is a secret setting
    assert created.json() == {"name": "pager", "provisioned": False, "body": {"name": "pager", **shown_pager}}
    route = {"receiver": "pager", "matchers": ['service="db"'], "group_wait": "10s"}
    assert (await c.put(f"{CONFIG}/routes/db", json=route, headers=auth)).status_code == 201
    rule = {"matchers": ['service="db"'], "effects": {"route_to": ["pager"]}}
    assert (await c.put(f"{CONFIG}/rules/page-db", json=rule, headers=auth)).status_code == 201

    listed = (await c.get(f"{CONFIG}/receivers", headers=auth)).json()
    assert [(o["name"], o["provisioned"]) for o in listed] == [("default-log", True), ("ops", True), ("pager", False)]
    routes = (await c.get(f"{CONFIG}/routes", headers=auth)).json()
    assert [(o["name"], o["provisioned"]) for o in routes] == [("route.routes[0]", True), ("db", False)]
    assert routes[1]["body"] == route
    one = (await c.get(f"{CONFIG}/rules/page-db", headers=auth)).json()
    assert one == {"name": "page-db", "provisioned": False, "body": {"name": "page-db", **rule}}

    after = (await c.get(CONFIG, headers=auth)).json()
    assert after["revision"] != first["revision"]
    assert after["config"]["route"]["routes"][1]["receiver"] == "pager"

    # Replace: 200, and the running configuration has the new body at once.
    replaced = await c.put(f"{CONFIG}/routes/db", json={**route, "group_wait": "1m"}, headers=auth)
    assert replaced.status_code == 200
    assert (await c.get(f"{CONFIG}/routes/db", headers=auth)).json()["body"]["group_wait"] == "1m"

    # The receiver is still used by the route and the rule: refused, naming who uses it.
    refused = await c.delete(f"{CONFIG}/receivers/pager", headers=auth)
    assert refused.status_code == 409
    assert "api:routes/db: receiver: unknown receiver 'pager'" in refused.json()["detail"]
    assert "api:rules/page-db" in refused.json()["detail"]

    for path in ("routes/db", "rules/page-db", "receivers/pager"):
        assert (await c.delete(f"{CONFIG}/{path}", headers=auth)).status_code == 204, path
    assert (await c.get(f"{CONFIG}/receivers/pager", headers=auth)).status_code == 404
    assert (await c.delete(f"{CONFIG}/receivers/pager", headers=auth)).status_code == 404
    assert await stored(capi) == []
    assert (await c.get(CONFIG, headers=auth)).json()["revision"] == first["revision"]


async def test_every_kind_can_be_made(sqlite_capi: Api) -> None:
    c, auth = sqlite_capi.client, sqlite_capi.auth()
    bodies = {
        "time_intervals": ("weekend", {"time_intervals": [{"weekdays": ["saturday", "sunday"]}]}),
        "inhibit_rules": ("crit-mutes-warn", {"source_matchers": ['severity="critical"'], "equal": ["instance"]}),
        "escalation_policies": ("db", {"steps": [{"after": "5m", "receivers": ["ops"]}], "repeat": 1}),
        "routes": ("quiet", {"matchers": ['env="test"'], "mute_time_intervals": ["weekend"]}),
    }
    for kind, (name, body) in bodies.items():
        answer = await c.put(f"{CONFIG}/{kind}/{name}", json=body, headers=auth)
        assert answer.status_code == 201, (kind, answer.text)
    config = (await c.get(CONFIG, headers=auth)).json()["config"]
    assert config["inhibit_rules"][-1]["name"] == "crit-mutes-warn"
    assert config["escalation_policies"][0]["name"] == "db"
    # The interval is in use by the route.
    assert (await c.delete(f"{CONFIG}/time_intervals/weekend", headers=auth)).status_code == 409


async def test_file_objects_are_read_only(sqlite_capi: Api, config_file: Path) -> None:
    c, auth = sqlite_capi.client, sqlite_capi.auth()
    for path in ("receivers/ops", "rules/tag-db", "routes/route.routes[0]"):
        put = await c.put(f"{CONFIG}/{path}", json={"type": "log"}, headers=auth)
        assert put.status_code == 409, path
        assert "provisioned by the file" in put.json()["detail"] and str(config_file) in put.json()["detail"]
        assert (await c.delete(f"{CONFIG}/{path}", headers=auth)).status_code == 409
    assert await stored(sqlite_capi) == []


@pytest.mark.parametrize(
    ("path", "body", "loc", "message"),
    [
        ("rules/bad", {"matchers": ["=x"], "effects": {"tags": ["x"]}}, ["body", "matchers", 0], "is not a matcher"),
        ("rules/bad", {"effects": {}}, ["body", "effects"], "a rule needs at least one effect"),
        ("routes/bad", {"receiver": "nobody"}, ["body", "receiver"], "unknown receiver 'nobody'"),
        ("routes/bad", {"group_wait": 5}, ["body", "group_wait"], "is not a duration"),
        ("receivers/bad", {"type": "carrier-pigeon"}, ["body", "type"], "unknown receiver type"),
        ("receivers/bad", {"type": "log", "extra": 1}, ["body", "extra"], "unknown key"),
        ("receivers/bad", {"name": "other", "type": "log"}, ["body", "name"], "differs from the name in the path"),
        ("receivers/-bad", {"type": "log"}, ["path", "name"], "a name is"),
        ("escalation_policies/bad", {"steps": []}, ["body", "steps"], "at least 1 item"),
    ],
)
async def test_invalid_objects_are_422_naming_the_path(
    sqlite_capi: Api, path: str, body: dict[str, Any], loc: list[Any], message: str
) -> None:
    answer = await sqlite_capi.client.put(f"{CONFIG}/{path}", json=body, headers=sqlite_capi.auth())
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    assert error["loc"] == loc and message in error["msg"]
    assert answer.json()["message"].startswith(f"{format_loc(loc)}: ")
    assert await stored(sqlite_capi) == []


async def test_bodies_that_are_not_objects(sqlite_capi: Api) -> None:
    c, auth = sqlite_capi.client, sqlite_capi.auth()
    for content in (b"{", b"[1]", b'"x"'):
        answer = await c.put(f"{CONFIG}/rules/x", content=content, headers={**auth, "Content-Type": "application/json"})
        assert answer.status_code == 422, content
    assert (await c.put(f"{CONFIG}/widgets/x", json={}, headers=auth)).status_code == 422
    assert (await c.get(f"{CONFIG}/widgets", headers=auth)).status_code == 422


async def test_scopes(sqlite_capi: Api) -> None:
    c = sqlite_capi.client
    read = sqlite_capi.auth(await sqlite_capi.key(Scope.READ, name="reader"))
    write = sqlite_capi.auth(await sqlite_capi.key(Scope.WRITE, name="writer"))
    rule = {"effects": {"tags": ["x"]}}
    assert (await c.get(CONFIG)).status_code == 401
    assert (await c.get(CONFIG, headers=read)).status_code == 200
    assert (await c.get(f"{CONFIG}/receivers", headers=read)).status_code == 200
    assert (await c.put(f"{CONFIG}/rules/r", json=rule, headers=read)).status_code == 403
    assert (await c.put(f"{CONFIG}/rules/r", json=rule, headers=write)).status_code == 201
    assert (await c.delete(f"{CONFIG}/rules/r", headers=read)).status_code == 403
    assert (await c.delete(f"{CONFIG}/rules/r", headers=write)).status_code == 204
    # Receivers carry secrets: admin only.
    assert (await c.put(f"{CONFIG}/receivers/p", json=PAGER, headers=write)).status_code == 403
    assert (await c.put(f"{CONFIG}/receivers/p", json=PAGER, headers=sqlite_capi.auth())).status_code == 201
    assert (await c.delete(f"{CONFIG}/receivers/p", headers=write)).status_code == 403
    assert (await c.post("/-/reload", headers=write)).status_code == 403
    assert (await c.post("/-/reload", headers=sqlite_capi.auth())).status_code == 200


async def test_secrets_are_masked_and_kept(sqlite_capi: Api) -> None:
    c, auth = sqlite_capi.client, sqlite_capi.auth()
    settings = {
        "url": "https://bot:hunter2@hooks.example/send?access_token=abc123&channel=ops",
        "headers": {"Authorization": "Bearer abc123", "X-Team": "ops", "X-Api-Key": "hunter2"},
    }
    body = {"type": "webhook", "settings": settings}
    answers = [await c.put(f"{CONFIG}/receivers/secret", json=body, headers=auth)]
    answers.append(await c.get(f"{CONFIG}/receivers/secret", headers=auth))
    answers.append(await c.get(f"{CONFIG}/receivers", headers=auth))
    answers.append(await c.get(CONFIG, headers=auth))
    for answer in answers:
        assert answer.status_code in (200, 201)
        assert "hunter2" not in answer.text and "abc123" not in answer.text
    shown = answers[1].json()["body"]["settings"]
    assert shown == {  # settings the webhook declares secret: the URL keeps its host, headers are masked
        "url": "https://hooks.example/********",
        "headers": {"Authorization": "********", "X-Team": "********", "X-Api-Key": "********"},
    }
    # Sending the masked form back keeps the stored secrets; other edits apply.
    edited = {"type": "webhook", "settings": {**shown, "headers": {**shown["headers"], "X-Team": "db"}}}
    assert (await c.put(f"{CONFIG}/receivers/secret", json=edited, headers=auth)).status_code == 200
    [(_, _, kept)] = await stored(sqlite_capi)
    expected_headers = {"Authorization": "Bearer abc123", "X-Team": "db", "X-Api-Key": "hunter2"}
    assert kept["settings"] == {**settings, "headers": expected_headers}


# --- reload --------------------------------------------------------------------------------


async def test_reload_rereads_the_file(capi: Api, config_file: Path) -> None:
    c, auth = capi.client, capi.auth()
    before = (await c.get(CONFIG, headers=auth)).json()["revision"]
    write(config_file, {**FILE, "receivers": [*FILE["receivers"], {"name": "new", "type": "log"}]})
    assert (await c.get(f"{CONFIG}/receivers/new", headers=auth)).status_code == 404  # not before a reload
    answer = await c.post("/-/reload", headers=auth)
    assert answer.status_code == 200
    assert answer.json()["status"] == "reloaded" and answer.json()["revision"] != before
    assert (await c.get(f"{CONFIG}/receivers/new", headers=auth)).json()["provisioned"] is True


async def test_a_bad_reload_is_400_and_the_running_configuration_stays(sqlite_capi: Api, config_file: Path) -> None:
    c, auth = sqlite_capi.client, sqlite_capi.auth()
    before = (await c.get(CONFIG, headers=auth)).json()
    write(config_file, {**FILE, "route": {"receiver": "nobody", "routes": [{"group_wait": "soon"}]}})
    answer = await c.post("/-/reload", headers=auth)
    assert answer.status_code == 400
    body = answer.json()
    assert body["status"] == "failed" and body["revision"] == before["revision"]
    [error] = body["errors"]
    assert error.startswith(f"{config_file}: route.routes[0].group_wait: 'soon' is not a duration")
    assert (await c.get(CONFIG, headers=auth)).json() == before
    metrics = await scrape(c)
    assert metrics[("alert_handler_config_last_reload_successful", ())] == 0

    write(config_file, FILE)
    assert (await c.post("/-/reload", headers=auth)).status_code == 200
    metrics = await scrape(c)
    assert metrics[("alert_handler_config_last_reload_successful", ())] == 1
    assert metrics[("alert_handler_config_last_reload_success_timestamp_seconds", ())] > time.time() - 60


async def test_an_api_object_that_the_new_file_collides_with(sqlite_capi: Api, config_file: Path) -> None:
    c, auth = sqlite_capi.client, sqlite_capi.auth()
    assert (await c.put(f"{CONFIG}/receivers/pager", json=PAGER, headers=auth)).status_code == 201
    write(config_file, {**FILE, "receivers": [*FILE["receivers"], {"name": "pager", "type": "log"}]})
    answer = await c.post("/-/reload", headers=auth)
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        "api:receivers/pager: the file defines receivers 'pager' too; rename or delete this object"
    ]


# --- start-up and other processes ---------------------------------------------------------------


async def test_an_invalid_file_stops_the_start(sqlite_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", {**FILE, "route": {"receiver": "nobody"}})
    with pytest.raises(ConfigError, match=r"not starting:\n.*route.receiver: unknown receiver 'nobody'"):
        async for _ in make_api(sqlite_url, config_file=str(path)):
            pass
    with pytest.raises(ConfigError, match="cannot read the file"):
        async for _ in make_api(sqlite_url, config_file=str(tmp_path / "missing.yaml")):
            pass


async def test_another_process_sees_a_change(sqlite_url: str, config_file: Path) -> None:
    async for one in make_api(sqlite_url, config_file=str(config_file), config_refresh_seconds=0.05):
        async for two in make_api(sqlite_url, config_file=str(config_file), config_refresh_seconds=0.05):
            assert (
                await one.client.put(f"{CONFIG}/receivers/pager", json=PAGER, headers=one.auth())
            ).status_code == 201
            deadline = time.monotonic() + 5
            while (await two.client.get(f"{CONFIG}/receivers/pager", headers=two.auth())).status_code != 200:
                assert time.monotonic() < deadline, "the second app never saw the receiver"
                await asyncio.sleep(0.05)


@pytest.fixture
async def sqlite_capi(sqlite_url: str, config_file: Path) -> AsyncIterator[Api]:
    async for made in make_api(sqlite_url, config_file=str(config_file)):
        yield made
