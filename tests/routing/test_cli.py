"""`alert-handler config check` and `alert-handler routes test`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from alert_handler import cli
from alert_handler.settings import get_settings

EXAMPLE = Path(__file__).parents[2] / "config" / "alert-handler.example.yaml"


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str, config_file: Path = EXAMPLE) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"CONFIG_FILE": str(config_file)})


def test_check_prints_a_summary() -> None:
    result = run("config", "check", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{EXAMPLE}: SUCCESS",
        "Found:",
        " - 3 receivers",
        " - 5 routes",
        " - 1 rule",
        " - 1 inhibit rule",
        " - 1 time interval",
        " - 1 escalation policy",
    ]


def test_check_reads_the_config_file_setting_by_default() -> None:
    result = run("config", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{EXAMPLE}: SUCCESS")


def test_check_names_each_problem_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "receivers: [{name: a, type: log}]\n"
        "route:\n"
        "  receiver: a\n"
        "  routes:\n"
        "    - {receiver: a}\n"
        "    - {receiver: b}\n"
        "    - {matchers: ['team=~\"(\"']}\n",
        encoding="utf-8",
    )
    result = run("config", "check", str(bad))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{bad}: route.routes[2].matchers[0]: 'team=~\"(\"' is not a matcher: invalid regular")
    assert lines[-1] == f"{bad}: FAILED, 1 problem"
    # References are checked once every object is valid on its own: here, the unknown receiver.
    bad.write_text(
        "receivers: [{name: a, type: log}]\nroute:\n  receiver: a\n  routes:\n    - {receiver: b}\n", encoding="utf-8"
    )
    result = run("config", "check", str(bad))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{bad}: route.routes[0].receiver: unknown receiver 'b'; defined: a",
        f"{bad}: FAILED, 1 problem",
    ]


def test_check_of_a_missing_file(tmp_path: Path) -> None:
    result = run("config", "check", str(tmp_path / "none.yaml"))
    assert result.exit_code == 1
    assert "cannot read the file" in result.stderr


def test_routes_test_prints_each_route_and_the_receivers() -> None:
    result = run("routes", "test", "severity=critical", "service=postgres")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("route.routes[0]  receiver=ops-webhook  group_by=[alertname,service]  group_wait=10s")
    assert lines[1].startswith("route.routes[1].routes[0]  receiver=db-pager")
    assert "repeat_interval=1h" in lines[1]
    assert lines[-1] == "ops-webhook,db-pager"


def test_routes_test_default_route_and_time_intervals() -> None:
    result = run("routes", "test", "--config", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "default-log"
    result = run("routes", "test", "service=mysql", "severity=warning")
    assert "mute_time_intervals=[off-hours]" in result.stdout
    assert result.stdout.splitlines()[-1] == "ops-webhook"


def test_routes_test_value_may_hold_equals_signs(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "receivers: [{name: a, type: log}, {name: b, type: log}]\n"
        "route: {receiver: a, routes: [{receiver: b, matchers: ['q=\"x=y\"']}]}\n",
        encoding="utf-8",
    )
    assert run("routes", "test", "--config", str(config), "q=x=y").stdout.splitlines()[-1] == "b"
    assert run("routes", "test", "--config", str(config), "q=x").stdout.splitlines()[-1] == "a"


def test_routes_test_refuses_a_label_without_value() -> None:
    result = run("routes", "test", "severity")
    assert result.exit_code == 2
    assert "is not label=value" in result.output


def test_routes_test_with_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("route: {}\n", encoding="utf-8")
    result = run("routes", "test", "a=b", config_file=config)
    assert result.exit_code == 1
    assert f"{config}: receivers: required" in result.stderr
