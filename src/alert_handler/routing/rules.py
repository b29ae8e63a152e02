"""Rules: matchers and an optional CEL expression select alerts; effects enrich, suppress, route.

Rules run in order. A rule matches when all its matchers match `view.match_labels()` and its
CEL expression (if any) is true over `view.as_dict()`. The effects of matching rules apply
cumulatively, and each rule sees the alert as the rules before it left it (a rule that raises
the severity changes what later rules match). Every rule's verdict and why is kept in the
trace, stored with the alert as its explanation. Evaluation never raises.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alert_handler.errors import ConfigError
from alert_handler.routing.cel import CelError, Expression, Values, compile_expression
from alert_handler.routing.models import Config, Rule, RuleEffects
from alert_handler.routing.references import Problem
from alert_handler.routing.view import AlertView

_MAX_VALUE = 80


class InvalidRules(ConfigError):
    """Rules whose CEL expressions cannot be compiled; `problems` name each (`rules[2].cel`)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    expression: Expression | None
    effects: dict[str, Any]  # the rule's effects as JSON, for the trace


@dataclass(frozen=True, slots=True)
class CompiledRules:
    rules: tuple[CompiledRule, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleTrace:
    name: str
    matched: bool
    reason: str | None = None  # why not: the failing matcher, "cel false" or the CEL error
    effects: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"name": self.name, "matched": self.matched}
        if self.reason is not None:
            found["reason"] = self.reason
        if self.effects:
            found["effects"] = dict(self.effects)
        return found


@dataclass(frozen=True, slots=True)
class RulesOutcome:
    view: AlertView
    suppressed_by: str | None = None
    route_to: tuple[str, ...] = ()
    escalation_policy: str | None = None
    trace: tuple[RuleTrace, ...] = ()

    @property
    def matched(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.trace if t.matched)

    def to_json(self) -> dict[str, Any]:
        return {
            "matched": list(self.matched),
            "suppressed_by": self.suppressed_by,
            "route_to": list(self.route_to),
            "escalation_policy": self.escalation_policy,
            "trace": [t.to_json() for t in self.trace],
        }


def compile_rules(rules: Sequence[Rule]) -> CompiledRules:
    """Compile every CEL expression once; raises InvalidRules naming each one that fails."""
    compiled, problems = [], []
    for index, rule in enumerate(rules):
        expression = None
        if rule.cel is not None:
            try:
                expression = compile_expression(rule.cel)
            except CelError as exc:
                problems.append(Problem(("rules", index, "cel"), str(exc)))
        effects = rule.effects.model_dump(mode="json", exclude_defaults=True)
        compiled.append(CompiledRule(rule, expression, effects))
    if problems:
        raise InvalidRules(problems)
    return CompiledRules(tuple(compiled))


_CACHE: dict[int, CompiledRules] = {}


def remember(config: Config, compiled: CompiledRules) -> None:
    """Keep `compiled` for `config` (by identity) while the config lives."""
    key = id(config)
    if key not in _CACHE:
        weakref.finalize(config, _CACHE.pop, key, None)
    _CACHE[key] = compiled


def compiled_rules(config: Config) -> CompiledRules:
    """The compiled rules of this config object; compiled at most once per object."""
    found = _CACHE.get(id(config))
    if found is None:
        found = compile_rules(config.rules)
        remember(config, found)
    return found


def apply_rules(compiled: CompiledRules, view: AlertView) -> RulesOutcome:
    suppressed_by: str | None = None
    route_to: list[str] = []
    policy: str | None = None
    trace: list[RuleTrace] = []
    labels = view.match_labels()
    values: Values | None = None  # made for the first CEL rule, again only after the alert changed
    for item in compiled.rules:
        rule = item.rule
        reason = _failed_matcher(rule, labels)
        if reason is None and item.expression is not None:
            if values is None:
                values = Values(view)
            matched, error = item.expression.evaluate(values)
            if error is not None:
                reason = f"cel error: {error}"
            elif not matched:
                reason = "cel false"
        if reason is not None:
            trace.append(RuleTrace(rule.name, False, reason))
            continue
        effects = rule.effects
        enriched = _enrich(view, effects)
        if enriched is not view:
            view, labels, values = enriched, enriched.match_labels(), None
        if effects.suppress and suppressed_by is None:
            suppressed_by = rule.name
        for receiver in effects.route_to:
            if receiver not in route_to:
                route_to.append(receiver)
        policy = effects.escalation_policy or policy
        trace.append(RuleTrace(rule.name, True, effects=item.effects))
    return RulesOutcome(view, suppressed_by, tuple(route_to), policy, tuple(trace))


def _failed_matcher(rule: Rule, labels: dict[str, str]) -> str | None:
    for matcher in rule.matchers:
        if not matcher.matches_labels(labels):
            actual = labels.get(matcher.name)
            if actual is None:
                return f"{matcher} did not match ({matcher.name} is absent)"
            shown = actual if len(actual) <= _MAX_VALUE else actual[: _MAX_VALUE - 1] + "…"
            return f"{matcher} did not match ({matcher.name} is {shown!r})"
    return None


def _enrich(view: AlertView, effects: RuleEffects) -> AlertView:
    changes: dict[str, Any] = {}
    if effects.severity is not None and effects.severity.value != view.severity:
        changes["severity"] = effects.severity.value
    if any(view.labels.get(k) != v for k, v in effects.labels.items()):
        changes["labels"] = {**view.labels, **effects.labels}
    new_tags = [t for t in dict.fromkeys(effects.tags) if t not in view.tags]
    if new_tags:
        changes["tags"] = (*view.tags, *new_tags)
    if effects.owner is not None and effects.owner != view.owner:
        changes["owner"] = effects.owner
    if effects.team is not None and effects.team != view.team:
        changes["team"] = effects.team
    return dataclasses.replace(view, **changes) if changes else view
