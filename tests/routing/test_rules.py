"""Rules: matchers and CEL select alerts, effects apply in order, and the trace says why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alert_handler.routing.config import InvalidConfig, load_config, parse_config
from alert_handler.routing.models import Rule
from alert_handler.routing.rules import (
    CompiledRules,
    InvalidRules,
    RulesOutcome,
    apply_rules,
    compile_rules,
    compiled_rules,
)
from alert_handler.routing.view import AlertView

EXAMPLE = Path(__file__).parents[2] / "config" / "alert-handler.example.yaml"


def alert(**changes: Any) -> AlertView:
    fields: dict[str, Any] = {
        "id": 7,
        "tenant": "default",
        "fingerprint": "abc",
        "status": "firing",
        "severity": "warning",
        "source": "prometheus",
        "title": "CPU high on db-1",
        "labels": {"alertname": "CPUHigh", "service": "postgres", "instance": "db-1"},
        "tags": ("infra",),
        "metadata": {"cpu_usage": 95},
    }
    fields.update(changes)
    return AlertView(**fields)


def rule(name: str, effects: dict[str, Any], matchers: list[str] | None = None, cel: str | None = None) -> Rule:
    data: dict[str, Any] = {"name": name, "matchers": matchers or [], "effects": effects}
    if cel is not None:
        data["cel"] = cel
    return Rule.model_validate(data)


def run(rules: list[Rule], view: AlertView | None = None) -> RulesOutcome:
    return apply_rules(compile_rules(rules), view or alert())


def config_with(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "receivers": [{"name": "default", "type": "log"}, {"name": "db-pager", "type": "log"}],
        "route": {"receiver": "default"},
        "rules": rules,
        "escalation_policies": [{"name": "db", "steps": [{"after": "5m", "receivers": ["db-pager"]}]}],
    }


# Matchers


def test_matchers_see_labels_and_native_fields() -> None:
    outcome = run(
        [
            rule("by-label", {"tags": ["a"]}, ['service=~"postgres|mysql"']),
            rule("by-source", {"tags": ["b"]}, ['source="prometheus"', 'severity="warning"']),
            rule("by-title", {"tags": ["c"]}, ['title=~"CPU.*"']),
            rule("by-tags", {"tags": ["d"]}, ['tags=~".*infra.*"']),
            rule("miss", {"tags": ["e"]}, ['service="redis"']),
        ]
    )
    assert outcome.matched == ("by-label", "by-source", "by-title", "by-tags")
    assert outcome.view.tags == ("infra", "a", "b", "c", "d")


def test_a_rule_without_matchers_or_cel_matches_every_alert() -> None:
    assert run([rule("all", {"owner": "ops"})]).view.owner == "ops"


def test_the_trace_names_the_matcher_that_failed_and_the_value_it_saw() -> None:
    outcome = run([rule("db", {"team": "db"}, ['service="postgres"', 'instance="db-2"', 'zone="eu"'])])
    (entry,) = outcome.trace
    assert not entry.matched
    assert entry.reason == "instance=\"db-2\" did not match (instance is 'db-1')"
    absent = run([rule("zone", {"team": "db"}, ['zone="eu"'])]).trace[0]
    assert absent.reason == 'zone="eu" did not match (zone is absent)'


def test_a_long_label_value_is_cut_in_the_trace() -> None:
    view = alert(labels={"service": "x" * 10_000})
    reason = run([rule("db", {"team": "db"}, ['service="postgres"'])], view).trace[0].reason
    assert reason is not None and len(reason) < 200 and reason.endswith("…')")


# CEL


@pytest.mark.parametrize("value", [95, 95.5, 90.5])
@pytest.mark.parametrize("expression", ["metadata.cpu_usage > 90", "metadata.cpu_usage > 90.0"])
def test_cel_compares_metadata_numbers_whether_int_or_double(value: float, expression: str) -> None:
    outcome = run([rule("hot", {"severity": "critical"}, cel=expression)], alert(metadata={"cpu_usage": value}))
    assert outcome.matched == ("hot",)
    assert outcome.view.severity == "critical"


@pytest.mark.parametrize("value", [90, 90.0, 12, 0.5])
def test_cel_false_is_no_match_and_says_so(value: float) -> None:
    outcome = run(
        [rule("hot", {"severity": "critical"}, cel="metadata.cpu_usage > 90")], alert(metadata={"cpu_usage": value})
    )
    assert outcome.matched == ()
    assert outcome.trace[0].reason == "cel false"
    assert outcome.view.severity == "warning"


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ('labels.service == "postgres"', True),
        ('"infra" in tags', True),
        ('"database" in tags', False),
        ('severity == "warning" && source == "prometheus"', True),
        ('title.startsWith("CPU") && size(labels) == 3', True),
        ("metadata.cpu_usage == 95.0", True),
        ("metadata.cpu_usage != 95.0", False),
        ('id == 7 && tenant == "default" && fingerprint == "abc" && status == "firing"', True),
        ('owner == "" && team == "" && description == "" && size(annotations) == 0', True),
        ('tags.exists(t, t.startsWith("inf"))', True),
        ('has(labels.zone) || labels.instance.matches("^db-[0-9]+$")', True),
        ("metadata.cpu_usage == null", False),
    ],
)
def test_cel_sees_the_whole_alert(expression: str, matches: bool) -> None:
    outcome = run([rule("r", {"owner": "x"}, cel=expression)])
    assert outcome.trace[0].matched is matches, outcome.trace[0].reason


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ({}, "no such member in mapping: 'cpu_usage'"),
        ({"cpu_usage": "high"}, "found no matching overload for > applied to '(string, int)'"),
        ({"cpu_usage": None}, "found no matching overload for > applied to '(null, int)'"),
    ],
)
def test_a_cel_error_at_evaluation_is_no_match_with_the_error_in_the_trace(
    metadata: dict[str, Any], reason: str
) -> None:
    outcome = run(
        [rule("hot", {"severity": "critical"}, cel="metadata.cpu_usage > 90"), rule("next", {"owner": "ops"})],
        alert(metadata=metadata),
    )
    assert outcome.trace[0].matched is False
    assert outcome.trace[0].reason == f"cel error: {reason}"
    assert outcome.matched == ("next",), "an error stops only its own rule"


def test_a_cel_expression_that_is_not_a_bool_is_no_match() -> None:
    outcome = run([rule("r", {"owner": "x"}, cel="metadata.cpu_usage")])
    assert outcome.trace[0].reason == "cel error: the expression gave int, not a bool"


def test_cel_is_not_tried_when_a_matcher_already_failed() -> None:
    outcome = run([rule("r", {"owner": "x"}, ['service="redis"'], cel="metadata.nothing > 1")])
    assert outcome.trace[0].reason == "service=\"redis\" did not match (service is 'postgres')"


def test_alert_content_is_data_never_code() -> None:
    hostile = '__import__("os").system("touch /tmp/pwned") ' + "x" * 100_000
    view = alert(title=hostile, labels={"service": hostile}, metadata={"cpu_usage": hostile, "nested": {"a": [1, {}]}})
    outcome = run(
        [
            rule("title", {"owner": "x"}, cel='title.contains("__import__")'),
            rule("size", {"team": "y"}, cel="size(labels.service) > 100000"),
            rule("number", {"tags": ["z"]}, cel="metadata.cpu_usage > 1"),
        ],
        view,
    )
    assert outcome.matched == ("title", "size")
    assert not Path("/tmp/pwned").exists()
    assert outcome.trace[2].reason is not None and outcome.trace[2].reason.startswith("cel error")


# CEL problems at load


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("metadata.cpu_usage >", "not a valid CEL expression: syntax error at line 1, column"),
        ("metdata.cpu_usage > 90", "unknown name 'metdata' in the CEL expression"),
        ('title.lower() == "x"', "unknown function 'lower' in the CEL expression"),
        ("eval(title)", "unknown function 'eval' in the CEL expression"),
    ],
)
def test_a_bad_cel_expression_is_refused_at_load_naming_its_path(expression: str, message: str) -> None:
    rules = [
        {"name": "fine", "cel": "metadata.cpu_usage > 90.0", "effects": {"owner": "x"}},
        {"name": "also-fine", "effects": {"owner": "x"}},
        {"name": "bad", "cel": expression, "effects": {"owner": "x"}},
    ]
    with pytest.raises(InvalidConfig) as caught:
        parse_config(config_with(rules), source="rules.yaml")
    (problem,) = caught.value.problems
    assert problem.path == "rules[2].cel"
    assert problem.message.startswith(message)
    assert f"rules.yaml: rules[2].cel: {message}" in str(caught.value)


def test_every_bad_expression_is_reported_with_the_other_problems() -> None:
    rules = [
        {"name": "a", "cel": "(", "effects": {"owner": "x"}},
        {"name": "b", "cel": "nope == 1", "effects": {"route_to": ["missing"]}},
    ]
    with pytest.raises(InvalidConfig) as caught:
        parse_config(config_with(rules))
    assert [p.path for p in caught.value.problems] == ["rules[1].effects.route_to[0]", "rules[0].cel", "rules[1].cel"]


def test_compile_rules_raises_with_each_problem() -> None:
    with pytest.raises(InvalidRules) as caught:
        compile_rules([rule("ok", {"owner": "x"}), rule("bad", {"owner": "x"}, cel="1 +")])
    assert [p.path for p in caught.value.problems] == ["rules[1].cel"]


def test_macro_variables_and_standard_functions_are_not_unknown_names() -> None:
    compile_rules(
        [
            rule("a", {"owner": "x"}, cel='tags.all(t, t != "") && labels.exists(k, k == "service")'),
            rule("b", {"owner": "x"}, cel="type(metadata.cpu_usage) == int || double(metadata.cpu_usage) > 1.5"),
            rule("c", {"owner": "x"}, cel='timestamp("2024-01-01T00:00:00Z") < timestamp("2025-01-01T00:00:00Z")'),
        ]
    )


def test_compiled_rules_are_made_once_per_config_object() -> None:
    config = parse_config(config_with([{"name": "r", "cel": "metadata.cpu_usage > 90", "effects": {"owner": "x"}}]))
    first = compiled_rules(config)
    assert compiled_rules(config) is first
    assert first.rules[0].expression is not None
    again = parse_config(config_with([{"name": "r", "cel": "metadata.cpu_usage > 90", "effects": {"owner": "x"}}]))
    assert compiled_rules(again) is not first, "a reloaded config gets its own"


def test_the_example_config_rule_fires_on_a_hot_database() -> None:
    config = load_config(EXAMPLE)
    view = alert(labels={"service": "postgres"}, metadata={"cpu_usage": 97})
    outcome = apply_rules(compiled_rules(config), view)
    assert "database-team" in outcome.matched
    assert outcome.view.team == "db"
    cool = apply_rules(compiled_rules(config), alert(labels={"service": "postgres"}, metadata={"cpu_usage": 20}))
    assert "database-team" not in cool.matched


# Effects


def test_effects_apply_in_order_and_later_rules_see_the_enriched_alert() -> None:
    outcome = run(
        [
            rule("cel-before", {"tags": ["never"]}, cel='has(labels.team) && labels.team == "db"'),
            rule("raise", {"severity": "critical", "labels": {"team": "db"}}, ['service="postgres"']),
            rule("sees-severity", {"tags": ["paged"]}, ['severity="critical"']),
            rule("sees-label-in-cel", {"owner": "dba"}, cel='labels.team == "db" && "paged" in tags'),
            rule("overwrites", {"labels": {"team": "platform", "tier": "1"}, "owner": "sre"}),
            rule("sees-old-team", {"tags": ["never"]}, ['team="db"']),
        ]
    )
    assert outcome.matched == ("raise", "sees-severity", "sees-label-in-cel", "overwrites")
    view = outcome.view
    assert view.severity == "critical"
    assert view.labels == {
        "alertname": "CPUHigh",
        "service": "postgres",
        "instance": "db-1",
        "team": "platform",
        "tier": "1",
    }
    assert view.tags == ("infra", "paged")
    assert view.owner == "sre"


def test_tags_are_appended_without_duplicates() -> None:
    outcome = run([rule("a", {"tags": ["infra", "db", "db"]}), rule("b", {"tags": ["db", "hot"]})])
    assert outcome.view.tags == ("infra", "db", "hot")


def test_the_input_view_is_left_as_it_was() -> None:
    view = alert()
    outcome = run([rule("a", {"labels": {"team": "db"}, "tags": ["x"], "severity": "critical"})], view)
    assert view.labels.get("team") is None and view.tags == ("infra",) and view.severity == "warning"
    assert outcome.view is not view


def test_suppress_names_the_first_rule_that_suppresses() -> None:
    outcome = run(
        [
            rule("quiet", {"suppress": True}, ['instance="db-1"']),
            rule("also-quiet", {"suppress": True}),
            rule("still-runs", {"owner": "x"}),
        ]
    )
    assert outcome.suppressed_by == "quiet"
    assert outcome.matched == ("quiet", "also-quiet", "still-runs")
    assert run([rule("n", {"owner": "x"})]).suppressed_by is None


def test_route_to_collects_receivers_in_order_without_duplicates() -> None:
    outcome = run(
        [
            rule("a", {"route_to": ["db-pager", "default"]}),
            rule("skip", {"route_to": ["never"]}, ['service="redis"']),
            rule("b", {"route_to": ["default", "chat"]}),
        ]
    )
    assert outcome.route_to == ("db-pager", "default", "chat")


def test_the_last_matching_escalation_policy_wins() -> None:
    outcome = run(
        [
            rule("a", {"escalation_policy": "first"}),
            rule("b", {"escalation_policy": "second"}),
            rule("c", {"escalation_policy": "never"}, ['service="redis"']),
            rule("d", {"owner": "x"}),
        ]
    )
    assert outcome.escalation_policy == "second"
    assert run([rule("n", {"owner": "x"})]).escalation_policy is None


def test_trace_has_one_entry_per_rule_and_serialises_to_json() -> None:
    outcome = run(
        [
            rule("enrich", {"severity": "critical", "labels": {"team": "db"}, "route_to": ["db-pager"]}),
            rule("miss", {"owner": "x"}, ['service="redis"']),
            rule("cel-miss", {"owner": "x"}, cel="metadata.cpu_usage < 10"),
            rule("cel-error", {"owner": "x"}, cel="metadata.disk > 10"),
        ]
    )
    assert [(t.name, t.matched) for t in outcome.trace] == [
        ("enrich", True),
        ("miss", False),
        ("cel-miss", False),
        ("cel-error", False),
    ]
    stored = json.loads(json.dumps(outcome.to_json()))
    assert stored == {
        "matched": ["enrich"],
        "suppressed_by": None,
        "route_to": ["db-pager"],
        "escalation_policy": None,
        "trace": [
            {
                "name": "enrich",
                "matched": True,
                "effects": {"severity": "critical", "labels": {"team": "db"}, "route_to": ["db-pager"]},
            },
            {"name": "miss", "matched": False, "reason": "service=\"redis\" did not match (service is 'postgres')"},
            {"name": "cel-miss", "matched": False, "reason": "cel false"},
            {"name": "cel-error", "matched": False, "reason": "cel error: no such member in mapping: 'disk'"},
        ],
    }


def test_no_rules_change_nothing() -> None:
    view = alert()
    outcome = apply_rules(CompiledRules(), view)
    assert outcome == RulesOutcome(view)
    assert outcome.to_json()["trace"] == []


# Properties

_EFFECTS_WITHOUT_LABELS = st.fixed_dictionaries(
    {},
    optional={
        "severity": st.sampled_from(["critical", "warning", "info"]),
        "tags": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
        "owner": st.sampled_from(["o1", "o2"]),
        "suppress": st.just(True),
        "route_to": st.lists(st.sampled_from(["r1", "r2"]), max_size=2),
    },
).filter(lambda e: any(e.get(k) for k in e))
_MATCHERS = st.lists(
    st.sampled_from(['severity="critical"', 'service="postgres"', 'tags=~".*a.*"', 'x!="1"']), max_size=2
)
_CEL = st.sampled_from([None, "metadata.cpu_usage > 50", '"a" in tags', "metadata.missing == 1"])
_RULES = st.lists(st.tuples(_EFFECTS_WITHOUT_LABELS, _MATCHERS, _CEL), max_size=6)
_LABELS = st.dictionaries(st.sampled_from(["service", "x", "team"]), st.sampled_from(["postgres", "1", "db"]))


@given(_RULES, _LABELS, st.one_of(st.integers(0, 100), st.floats(0, 100)))
def test_rules_without_label_effects_leave_labels_unchanged(
    specs: list[tuple[dict[str, Any], list[str], str | None]], labels: dict[str, str], cpu: float
) -> None:
    rules = [rule(f"r{i}", effects, matchers, cel) for i, (effects, matchers, cel) in enumerate(specs)]
    view = alert(labels=labels, metadata={"cpu_usage": cpu})
    outcome = run(rules, view)
    assert outcome.view.labels == labels
    assert len(outcome.trace) == len(rules)
    assert len(set(outcome.route_to)) == len(outcome.route_to)
    assert len(set(outcome.view.tags)) == len(outcome.view.tags)
    assert outcome.view.tags[: len(view.tags)] == view.tags
    assert outcome == run(rules, view), "the same rules and alert give the same outcome"
