"""Rules: matchers select alerts, effects enrich, suppress and route them (CEL to follow)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from alert_handler.routing.models import Config, Rule
from alert_handler.routing.view import AlertView


@dataclass(frozen=True, slots=True)
class RulesOutcome:
    view: AlertView
    suppressed_by: str | None = None
    route_to: tuple[str, ...] = ()
    escalation_policy: str | None = None
    matched: tuple[str, ...] = ()

    def to_json(self) -> list[dict[str, Any]]:
        return [{"name": name, "matched": True} for name in self.matched]


@dataclass(frozen=True, slots=True)
class CompiledRules:
    rules: tuple[Rule, ...]


def compiled_rules(config: Config) -> CompiledRules:
    return CompiledRules(tuple(config.rules))


def apply_rules(compiled: CompiledRules, view: AlertView) -> RulesOutcome:
    suppressed, route_to, policy, matched = None, [], None, []
    for rule in compiled.rules:
        labels = view.match_labels()
        if not all(m.matches_labels(labels) for m in rule.matchers) or rule.cel:
            continue
        e = rule.effects
        view = dataclasses.replace(
            view,
            severity=e.severity.value if e.severity else view.severity,
            labels={**view.labels, **e.labels},
            tags=tuple(dict.fromkeys([*view.tags, *e.tags])),
            owner=e.owner or view.owner,
            team=e.team or view.team,
        )
        suppressed = suppressed or (rule.name if e.suppress else None)
        route_to += [r for r in e.route_to if r not in route_to]
        policy = e.escalation_policy or policy
        matched.append(rule.name)
    return RulesOutcome(view, suppressed, tuple(route_to), policy, tuple(matched))
