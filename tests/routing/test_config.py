"""The configuration file: what loads, and every problem named by file and path."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from alert_handler.domain.matchers import MatchOp
from alert_handler.domain.severity import Severity
from alert_handler.errors import ConfigError
from alert_handler.routing.config import InvalidConfig, load_config, parse_config
from alert_handler.routing.models import Config
from alert_handler.routing.references import format_loc

EXAMPLE = Path(__file__).parents[2] / "config" / "alert-handler.example.yaml"

VALID: dict[str, Any] = {
    "receivers": [
        {"name": "default", "type": "log"},
        {"name": "hook", "type": "webhook", "settings": {"url": "http://127.0.0.1:9/x"}},
    ],
    "route": {
        "receiver": "default",
        "group_by": ["alertname"],
        "routes": [
            {"matchers": ['team="db"'], "receiver": "hook", "mute_time_intervals": ["night"]},
            {"matchers": ['severity="critical"'], "continue": True},
            {"matchers": ['team="web"'], "routes": [{"matchers": ["env=prod"], "receiver": "hook"}]},
        ],
    },
    "inhibit_rules": [
        {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'], "equal": ["instance"]}
    ],
    "time_intervals": [
        {"name": "night", "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "06:00"}]}]}
    ],
    "rules": [
        {
            "name": "db",
            "matchers": ['service=~"pg|mysql"'],
            "cel": "metadata.cpu_usage > 90",
            "effects": {"severity": "crit", "tags": ["db"], "team": "db", "escalation_policy": "page"},
        }
    ],
    "escalation_policies": [
        {"name": "page", "steps": [{"after": "5m", "receivers": ["hook"]}, {"after": "15m", "receivers": ["default"]}]}
    ],
}


def valid() -> dict[str, Any]:
    return copy.deepcopy(VALID)


def problems(data: object) -> list[str]:
    with pytest.raises(InvalidConfig) as caught:
        parse_config(data, "cfg.yaml")
    return caught.value.lines()


def test_a_valid_config_loads_with_parsed_values() -> None:
    config = parse_config(valid())
    assert [r.name for r in config.receivers] == ["default", "hook"]
    assert config.route.routes[1].continue_ is True
    matcher = config.rules[0].matchers[0]
    assert (matcher.name, matcher.op, matcher.value) == ("service", MatchOp.RE, "pg|mysql")
    assert config.rules[0].effects.severity is Severity.CRITICAL
    assert config.escalation_policies[0].steps[1].after == timedelta(minutes=15)
    assert config.rules[0].cel == "metadata.cpu_usage > 90"


def test_the_model_serializes_back_to_the_file_form() -> None:
    dumped = parse_config(valid()).model_dump(mode="json", by_alias=True, exclude_defaults=True)
    assert dumped["route"]["routes"][0]["matchers"] == ['team="db"']
    assert dumped["route"]["routes"][1]["continue"] is True
    assert dumped["escalation_policies"][0]["steps"][0]["after"] == "5m"
    assert parse_config(dumped) == parse_config(valid())


def test_the_shipped_example_loads() -> None:
    config = load_config(EXAMPLE)
    assert {r.type for r in config.receivers} == {"log", "webhook"}
    assert config.route.receiver == "default-log"
    assert any(r.continue_ for r in config.route.routes)
    assert config.inhibit_rules[0].equal == ["alertname", "instance"]
    assert config.rules and config.escalation_policies and config.time_intervals


def test_the_error_names_file_and_path(tmp_path: Path) -> None:
    data = valid()
    data["route"]["routes"][2]["matchers"] = ['team=~"("']
    path = tmp_path / "alert-handler.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(
        f"{path}: route.routes[2].matchers[0]: 'team=~\"(\"' is not a matcher: invalid regular expression"
    )


def _set(data: dict[str, Any], dotted: str, value: object) -> dict[str, Any]:
    *parents, last = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node: Any = data
    for piece in parents:
        node = node[piece]
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("dotted", "value", "expected"),
    [
        ("route.group_wait", "5 min", "cfg.yaml: route.group_wait: '5 min' is not a duration"),
        ("route.group_wait", 30, "cfg.yaml: route.group_wait: 30 is not a duration"),
        ("route.group_interval", "0s", "cfg.yaml: route.group_interval: must be longer than zero"),
        ("route.repeat_interval", "0", "cfg.yaml: route.repeat_interval: must be longer than zero"),
        ("route.routes.0.matchers", ["team"], "cfg.yaml: route.routes[0].matchers[0]: 'team' is not a matcher"),
        ("route.routes.0.matchers", ['{a="1",b="2"}'], 'route.routes[0].matchers[0]: \'{a="1",b="2"}\' is not a'),
        ("route.routes.0.matchers", ['a="1'], "cfg.yaml: route.routes[0].matchers[0]: 'a=\"1' is not a matcher"),
        ("route.group_by", ["...", "x"], "route.group_by: '...' (all labels) cannot be combined"),
        ("route.group_by", ["a", "a"], "route.group_by: duplicate labels: a"),
        ("route.group_by", ["a b"], "route.group_by: 'a b' is not a label name"),
        ("route.contineu", True, "cfg.yaml: route.contineu: unknown key"),
        ("route.routes.1.recevier", "x", "route.routes[1].recevier: unknown key"),
        ("receivers.0.name", "", "receivers[0].name: String should have at least 1 character"),
        ("inhibit_rules.0.equal", ["in stance"], "inhibit_rules[0].equal: 'in stance' is not a label name"),
        ("inhibit_rules.0.source_matchers", ["=x"], "inhibit_rules[0].source_matchers[0]: '=x' is not a matcher"),
        ("rules.0.effects", {}, "rules[0].effects: a rule needs at least one effect"),
        ("rules.0.effects.severity", "bogus", "rules[0].effects.severity: 'bogus' is not a severity"),
        ("rules.0.effects.labels", {"bad label": "x"}, "rules[0].effects.labels: 'bad label' is not a label name"),
        ("rules.0.effekts", {}, "rules[0].effekts: unknown key"),
        ("rules.0.cel", "  ", "rules[0].cel: String should have at least 1 character"),
        ("escalation_policies.0.steps", [], "escalation_policies[0].steps: List should have at least 1 item"),
        ("escalation_policies.0.steps.1.after", "1m", "steps: steps must be in order of `after`: 1m comes after 5m"),
        ("escalation_policies.0.steps.0.receivers", [], "steps[0].receivers: List should have at least 1 item"),
        ("escalation_policies.0.repeat", -1, "escalation_policies[0].repeat: Input should be greater than or equal"),
        ("route", None, "cfg.yaml: route: Input should be a valid dictionary"),
        ("receivers", [], "cfg.yaml: receivers: List should have at least 1 item"),
        ("receivers.1.settings", {}, "cfg.yaml: receivers[1].settings.url: Field required"),
        ("receivers.1.settings.url", "ftp://x", "receivers[1].settings.url: Value error, must be an http://"),
        ("receivers.1.settings.timeout_seconds", 0, "receivers[1].settings.timeout_seconds: Input should be greater"),
        ("receivers.0.settings", {"levle": "x"}, "receivers[0].settings.levle: Extra inputs are not permitted"),
        (
            "time_intervals.0.time_intervals",
            [{"times": [{"start_time": "25:00", "end_time": "26:00"}]}],
            "cfg.yaml: time_intervals[0]: time_intervals[0].times[0]",
        ),
        (
            "time_intervals.0.time_intervals",
            [{"weekdays": ["funday"]}],
            "time_intervals[0]: time_intervals[0].weekdays",
        ),
    ],
)
def test_each_object_is_checked(dotted: str, value: object, expected: str) -> None:
    lines = problems(_set(valid(), dotted, value))
    assert any(expected in line for line in lines), lines


def test_missing_sections_are_named() -> None:
    data = valid()
    del data["route"]
    assert problems(data) == ["cfg.yaml: route: required"]


@pytest.mark.parametrize(
    ("dotted", "value", "expected"),
    [
        ("route.receiver", None, "cfg.yaml: route.receiver: the root route needs a receiver"),
        ("route.receiver", "nobody", "cfg.yaml: route.receiver: unknown receiver 'nobody'; defined: default, hook"),
        ("route.matchers", ['a="1"'], "cfg.yaml: route.matchers: the root route matches every alert"),
        ("route.continue", True, "cfg.yaml: route.continue: the root route cannot have continue"),
        ("route.mute_time_intervals", ["night"], "route.mute_time_intervals: the root route cannot have mute"),
        ("route.active_time_intervals", ["night"], "route.active_time_intervals: the root route cannot have active"),
        ("route.routes.2.routes.0.receiver", "pager", "route.routes[2].routes[0].receiver: unknown receiver 'pager'"),
        (
            "route.routes.0.mute_time_intervals",
            ["day"],
            "route.routes[0].mute_time_intervals[0]: unknown time interval",
        ),
        ("route.routes.1.active_time_intervals", ["x"], "route.routes[1].active_time_intervals[0]: unknown time"),
        ("receivers.1.name", "default", "cfg.yaml: receivers[1].name: duplicate name 'default'"),
        ("receivers.1.type", "smoke-signal", "receivers[1].type: unknown receiver type 'smoke-signal'; available"),
        ("rules.0.effects.route_to", ["hook", "nobody"], "rules[0].effects.route_to[1]: unknown receiver 'nobody'"),
        ("rules.0.effects.escalation_policy", "nope", "rules[0].effects.escalation_policy: unknown escalation policy"),
        ("escalation_policies.0.steps.0.receivers", ["x"], "escalation_policies[0].steps[0].receivers[0]: unknown"),
    ],
)
def test_references_are_checked(dotted: str, value: object, expected: str) -> None:
    lines = problems(_set(valid(), dotted, value))
    assert any(expected in line for line in lines), lines


def test_duplicate_names_in_every_named_section() -> None:
    data = valid()
    data["time_intervals"].append(copy.deepcopy(data["time_intervals"][0]))
    data["rules"].append(copy.deepcopy(data["rules"][0]))
    data["escalation_policies"].append(copy.deepcopy(data["escalation_policies"][0]))
    assert problems(data) == [
        "cfg.yaml: time_intervals[1].name: duplicate name 'night'",
        "cfg.yaml: rules[1].name: duplicate name 'db'",
        "cfg.yaml: escalation_policies[1].name: duplicate name 'page'",
    ]


def test_unknown_time_interval_when_none_are_defined() -> None:
    data = valid()
    del data["time_intervals"]
    assert problems(data) == [
        "cfg.yaml: route.routes[0].mute_time_intervals[0]: unknown time interval 'night'; no time intervals are defined"
    ]


def test_receiver_types_come_from_the_caller() -> None:
    data = valid()
    data["receivers"][1]["type"] = "carrier-pigeon"
    assert parse_config(data, receiver_types={"log", "carrier-pigeon"}).receivers[1].type == "carrier-pigeon"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "expected a mapping of sections (receivers, route, ...), got empty"),
        ("- a\n", "expected a mapping of sections (receivers, route, ...), got a list"),
        ("route: [\n", "line 2, column 1: not valid YAML"),
        ("route: {receiver: a}\nroute: {}\n", "line 2, column 1: not valid YAML: found duplicate key 'route'"),
    ],
)
def test_file_level_problems(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidConfig) as caught:
        load_config(path)
    assert caught.value.lines()[0].startswith(f"{path}: {expected}"), caught.value.lines()


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="cannot read the file"):
        load_config(tmp_path / "absent.yaml")


def test_config_is_immutable() -> None:
    config = parse_config(valid())
    with pytest.raises(ValueError, match="frozen"):
        config.route.receiver = "x"  # type: ignore[misc]
    assert isinstance(config, Config)


def test_format_loc() -> None:
    assert format_loc(("route", "routes", 2, "matchers", 0)) == "route.routes[2].matchers[0]"
    assert format_loc(()) == "(top level)"
