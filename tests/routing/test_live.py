"""The running configuration: the file merged with stored objects, reload, refresh across processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

import alert_handler
from alert_handler.db import create_engine
from alert_handler.errors import ConfigError
from alert_handler.routing.config import InvalidConfig
from alert_handler.routing.live import InvalidMerge, LiveConfig, ObjectSpec, resolve_config_file
from alert_handler.settings import DEFAULT_CONFIG_FILE
from alert_handler.store import config_objects

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)

FILE: dict[str, Any] = {
    "receivers": [
        {"name": "default-log", "type": "log"},
        {"name": "ops", "type": "webhook", "settings": {"url": "http://ops.example/hook"}},
    ],
    "route": {
        "receiver": "default-log",
        "routes": [{"receiver": "ops", "matchers": ['team="ops"']}],
    },
    "inhibit_rules": [{"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"']}],
    "rules": [{"name": "tag-db", "matchers": ['service="db"'], "effects": {"tags": ["db"]}}],
}


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write(tmp_path / "alert-handler.yaml", FILE)


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    yield engine
    await engine.dispose()


async def put(engine: AsyncEngine, kind: str, name: str, body: dict[str, Any]) -> None:
    async with engine.begin() as conn:
        await config_objects.put(conn, kind, name, body, "test", datetime.now(UTC))


async def remove(engine: AsyncEngine, kind: str, name: str) -> None:
    async with engine.begin() as conn:
        await config_objects.remove(conn, kind, name)


# --- merging ---------------------------------------------------------------------------------


async def test_the_file_alone(config_file: Path, sqlite_engine: AsyncEngine) -> None:
    live = LiveConfig(config_file, clock=lambda: NOW)
    loaded = await live.reload(sqlite_engine)
    assert live.current is loaded
    assert loaded.loaded_at == NOW
    assert [r.name for r in loaded.config.receivers] == ["default-log", "ops"]
    assert loaded.provisioned["receivers"] == {"default-log", "ops"}
    # File objects without a name are shown by their place in the file.
    assert loaded.provisioned["routes"] == {"route.routes[0]"}
    assert loaded.provisioned["inhibit_rules"] == {"inhibit_rules[0]"}
    assert loaded.provisioned["escalation_policies"] == frozenset()
    assert live.last_reload_successful and live.last_success_timestamp > 0


async def test_api_objects_follow_the_files_in_name_order(config_file: Path, sqlite_engine: AsyncEngine) -> None:
    await put(sqlite_engine, "receivers", "pager", {"type": "webhook", "settings": {"url": "http://x"}})
    await put(sqlite_engine, "routes", "z-db", {"receiver": "pager", "matchers": ['service="db"']})
    await put(sqlite_engine, "routes", "a-web", {"receiver": "ops", "matchers": ['service="web"'], "continue": True})
    await put(sqlite_engine, "inhibit_rules", "node-down", {"source_matchers": ['alertname="NodeDown"']})
    await put(sqlite_engine, "rules", "page-db", {"name": "page-db", "effects": {"route_to": ["pager"]}})
    await put(sqlite_engine, "time_intervals", "weekend", {"time_intervals": [{"weekdays": ["saturday"]}]})
    await put(sqlite_engine, "escalation_policies", "db", {"steps": [{"after": "5m", "receivers": ["pager"]}]})

    loaded = await LiveConfig(config_file).reload(sqlite_engine)
    config = loaded.config
    assert [r.name for r in config.receivers] == ["default-log", "ops", "pager"]
    assert [r.receiver for r in config.route.routes] == ["ops", "ops", "pager"]  # file, then a-web, z-db
    assert [r.name for r in config.inhibit_rules] == [None, "node-down"]
    assert [r.name for r in config.rules] == ["tag-db", "page-db"]
    assert [t.name for t in config.time_intervals] == ["weekend"]
    assert [p.name for p in config.escalation_policies] == ["db"]

    assert [(e.name, e.provisioned) for e in loaded.entries["routes"]] == [
        ("route.routes[0]", True),
        ("a-web", False),
        ("z-db", False),
    ]
    route = loaded.entry("routes", "z-db")
    assert route is not None and route.body == {"receiver": "pager", "matchers": ['service="db"']}
    assert loaded.provisioned["receivers"] == {"default-log", "ops"}  # pager is the API's
    # The tree is built from the merged routes.
    assert [m.receiver for m in loaded.tree.match({"service": "db"})] == ["pager"]
    assert [m.receiver for m in loaded.tree.match({"service": "web"})] == ["ops"]


async def test_revision_follows_the_content(config_file: Path, sqlite_engine: AsyncEngine) -> None:
    live = LiveConfig(config_file)
    first = (await live.reload(sqlite_engine)).revision
    assert (await live.reload(sqlite_engine)).revision == first
    await put(sqlite_engine, "rules", "r", {"effects": {"tags": ["x"]}})
    changed = (await live.reload(sqlite_engine)).revision
    assert changed != first
    await remove(sqlite_engine, "rules", "r")
    assert (await live.reload(sqlite_engine)).revision == first


@pytest.mark.parametrize(
    ("kind", "name", "body"),
    [
        ("receivers", "ops", {"type": "log"}),
        ("rules", "tag-db", {"effects": {"tags": ["x"]}}),
        ("inhibit_rules", "inhibit_rules[0]", {}),
    ],
)
async def test_a_name_the_file_uses_is_refused(
    config_file: Path, sqlite_engine: AsyncEngine, kind: str, name: str, body: dict[str, Any]
) -> None:
    await put(sqlite_engine, kind, name, body)
    with pytest.raises(InvalidMerge) as raised:
        await LiveConfig(config_file).reload(sqlite_engine)
    assert raised.value.lines() == [
        f"api:{kind}/{name}: the file defines {kind} {name!r} too; rename or delete this object"
    ]


async def test_problems_name_their_origin(config_file: Path, sqlite_engine: AsyncEngine) -> None:
    await put(sqlite_engine, "routes", "lost", {"receiver": "nobody", "matchers": ["=x"]})
    live = LiveConfig(config_file)
    with pytest.raises(InvalidMerge) as raised:
        await live.reload(sqlite_engine)
    assert raised.value.lines() == [
        "api:routes/lost: matchers[0]: '=x' is not a matcher: expected name, an operator (=, !=, =~, !~) and a value"
    ]
    assert [loc for loc, _ in raised.value.inside("routes", "lost")] == [("matchers", 0)]
    await put(sqlite_engine, "routes", "lost", {"receiver": "nobody"})  # references are checked once the shape is right
    with pytest.raises(InvalidMerge) as raised:
        await live.reload(sqlite_engine)
    assert raised.value.lines() == ["api:routes/lost: receiver: unknown receiver 'nobody'; defined: default-log, ops"]


async def test_file_problems_name_the_file(tmp_path: Path, sqlite_engine: AsyncEngine) -> None:
    path = write(tmp_path / "bad.yaml", {**FILE, "route": {"receiver": "nobody"}})
    with pytest.raises(InvalidConfig) as raised:
        await LiveConfig(path).reload(sqlite_engine)
    assert raised.value.lines() == [f"{path}: route.receiver: unknown receiver 'nobody'; defined: default-log, ops"]


async def test_a_file_reference_to_an_api_object_counts(tmp_path: Path, sqlite_engine: AsyncEngine) -> None:
    await put(sqlite_engine, "receivers", "pager", {"type": "log"})
    path = write(tmp_path / "uses-api.yaml", {**FILE, "route": {"receiver": "pager"}})
    loaded = await LiveConfig(path).reload(sqlite_engine)
    assert loaded.tree.receiver == "pager"


# --- reload and refresh ----------------------------------------------------------------------


async def test_a_failed_reload_keeps_the_running_snapshot(config_file: Path, sqlite_engine: AsyncEngine) -> None:
    live = LiveConfig(config_file)
    good = await live.reload(sqlite_engine)
    succeeded_at = live.last_success_timestamp

    config_file.write_text("receivers: [\n", encoding="utf-8")
    with pytest.raises(InvalidConfig, match="not valid YAML"):
        await live.reload(sqlite_engine)
    assert live.current is good
    assert not live.last_reload_successful
    assert live.last_success_timestamp == succeeded_at

    write(config_file, {**FILE, "receivers": [{"name": "default-log", "type": "nope"}]})
    with pytest.raises(InvalidConfig, match="unknown receiver type"):
        await live.reload(sqlite_engine)
    assert live.current is good

    write(config_file, {**FILE, "rules": []})
    fixed = await live.reload(sqlite_engine)
    assert live.current is fixed and live.last_reload_successful
    assert fixed.config.rules == []


async def test_not_loaded_yet(config_file: Path) -> None:
    with pytest.raises(ConfigError, match="not loaded"):
        _ = LiveConfig(config_file).current


async def test_load_file_alone_then_refresh_adds_the_objects(config_file: Path, sqlite_engine: AsyncEngine) -> None:
    await put(sqlite_engine, "rules", "r", {"effects": {"tags": ["x"]}})
    live = LiveConfig(config_file)
    assert [r.name for r in live.load_file().config.rules] == ["tag-db"]
    refreshed = await live.refresh_if_changed(sqlite_engine)
    assert refreshed is not None and [r.name for r in refreshed.config.rules] == ["tag-db", "r"]


async def test_refresh_sees_a_change_made_through_another_process(config_file: Path, engine: AsyncEngine) -> None:
    here, there = LiveConfig(config_file), LiveConfig(config_file)
    await here.reload(engine)
    await there.reload(engine)
    assert await there.refresh_if_changed(engine) is None  # nothing changed

    await put(engine, "receivers", "pager", {"type": "log"})
    await here.refresh_if_changed(engine)
    changed = await there.refresh_if_changed(engine)
    assert changed is not None and changed.revision == here.current.revision
    assert changed.config.receiver("pager") is not None
    assert await there.refresh_if_changed(engine) is None

    # A replace with a clock that stands still still moves the marker.
    async with engine.begin() as conn:
        await config_objects.put(
            conn, "receivers", "pager", {"type": "webhook", "settings": {"url": "http://x"}}, "test", NOW
        )
    replaced = await there.refresh_if_changed(engine)
    assert replaced is not None and replaced.config.receiver("pager").type == "webhook"  # type: ignore[union-attr]

    await remove(engine, "receivers", "pager")
    removed = await there.refresh_if_changed(engine)
    assert removed is not None and removed.config.receiver("pager") is None


async def test_refresh_does_not_reread_the_file(config_file: Path, sqlite_engine: AsyncEngine) -> None:
    live = LiveConfig(config_file)
    await live.reload(sqlite_engine)
    write(config_file, {**FILE, "rules": []})
    await put(sqlite_engine, "time_intervals", "always", {"time_intervals": []})
    refreshed = await live.refresh_if_changed(sqlite_engine)
    assert refreshed is not None
    assert [r.name for r in refreshed.config.rules] == ["tag-db"]  # the file as last read
    assert [r.name for r in (await live.reload(sqlite_engine)).config.rules] == []


async def test_an_invalid_change_elsewhere_keeps_the_snapshot_and_is_reported_once(
    config_file: Path, sqlite_engine: AsyncEngine
) -> None:
    live = LiveConfig(config_file)
    good = await live.reload(sqlite_engine)
    await put(sqlite_engine, "routes", "lost", {"receiver": "nobody"})
    with pytest.raises(InvalidMerge):
        await live.refresh_if_changed(sqlite_engine)
    assert live.current is good and not live.last_reload_successful
    assert await live.refresh_if_changed(sqlite_engine) is None  # the same change: not again
    await remove(sqlite_engine, "routes", "lost")
    assert await live.refresh_if_changed(sqlite_engine) is None  # back to what runs
    await put(sqlite_engine, "routes", "found", {"receiver": "ops"})
    assert await live.refresh_if_changed(sqlite_engine) is not None
    assert live.last_reload_successful


def test_candidate_checks_without_swapping(config_file: Path) -> None:
    live = LiveConfig(config_file)
    running = live.load_file()
    candidate = live.candidate([ObjectSpec("receivers", "pager", {"type": "log"})])
    assert candidate.config.receiver("pager") is not None
    assert live.current is running
    with pytest.raises(InvalidMerge) as raised:
        live.candidate([ObjectSpec("rules", "bad", {"matchers": ["=x"], "effects": {"tags": ["x"]}})])
    [(loc, message)] = raised.value.inside("rules", "bad")
    assert loc == ("matchers", 0) and "'=x' is not a matcher" in message


# --- which file ------------------------------------------------------------------------------


def test_the_default_file_is_found_in_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    found = resolve_config_file(DEFAULT_CONFIG_FILE)
    assert found.is_file() and found.name == "alert-handler.example.yaml"


def test_a_missing_default_file_is_said_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(alert_handler, "__file__", str(tmp_path / "a" / "b" / "alert_handler" / "__init__.py"))
    with pytest.raises(ConfigError, match="CONFIG_FILE is not set and the default"):
        resolve_config_file(DEFAULT_CONFIG_FILE)


def test_a_chosen_file_is_taken_as_given(tmp_path: Path) -> None:
    assert resolve_config_file(str(tmp_path / "mine.yaml")) == tmp_path / "mine.yaml"
