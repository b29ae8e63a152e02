"""Inhibition rules with Alertmanager's semantics.

A rule mutes a *target* alert while a *firing source* alert exists such that:

- the source matches every `source_matchers`, the target every `target_matchers`;
- each label named in `equal` has the same value on both (an absent label counts as "", so
  absent equals absent, and equals an empty value);
- if the target also matches the source matchers (it could inhibit others through this very
  rule), sources that also match the target matchers are skipped. This is Alertmanager's
  `excludeTwoSidedMatch`: an alert never inhibits itself, nor a peer that could inhibit it back.

`InhibitionIndex` is built once from the rules and the firing alerts: sources are indexed per
rule by the values of the rule's `equal` labels, so a lookup for one target costs one dict
access per rule whose target matchers it satisfies, whatever the number of firing alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from alert_handler.domain.fingerprint import label_fingerprint
from alert_handler.domain.matchers import Matcher


def matches(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches_labels(labels) for m in matchers)


@dataclass(frozen=True, slots=True)
class InhibitRule:
    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()
    name: str = ""

    def equal_key(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(labels.get(n, "") for n in self.equal)

    def target_keys(self, targets: Iterable[Mapping[str, str]]) -> set[tuple[str, ...]]:
        """The `equal` values of the targets this rule could mute: all a source must have to matter."""
        return {self.equal_key(t) for t in targets if matches(self.target_matchers, t)}


@dataclass(frozen=True, slots=True)
class Inhibition:
    """Why an alert is inhibited: the rule (and its position in the list) and one firing source."""

    rule_index: int
    rule: InhibitRule
    source_fingerprint: str
    source_labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Source:
    fingerprint: str
    labels: Mapping[str, str]
    matches_target: bool


class InhibitionIndex:
    """The firing sources of each rule, bucketed by the values of the rule's `equal` labels."""

    __slots__ = ("_by_rule", "rules")

    def __init__(self, rules: Sequence[InhibitRule], firing_sources: Iterable[Mapping[str, str]]) -> None:
        self.rules = tuple(rules)
        self._by_rule: list[dict[tuple[str, ...], list[_Source]]] = [{} for _ in self.rules]
        seen: set[str] = set()
        for labels in firing_sources:
            fp = label_fingerprint(labels)
            if fp in seen:
                continue
            seen.add(fp)
            for rule, buckets in zip(self.rules, self._by_rule, strict=True):
                if matches(rule.source_matchers, labels):
                    source = _Source(fp, labels, matches(rule.target_matchers, labels))
                    buckets.setdefault(rule.equal_key(labels), []).append(source)

    def source_count(self, rule_index: int) -> int:
        """How many distinct firing alerts can act as sources of the rule at `rule_index`."""
        return sum(len(bucket) for bucket in self._by_rule[rule_index].values())

    def inhibited_by(self, target_labels: Mapping[str, str]) -> list[Inhibition]:
        """One reason per rule that inhibits `target_labels` (its first firing source), in rule order."""
        reasons: list[Inhibition] = []
        for i, (rule, buckets) in enumerate(zip(self.rules, self._by_rule, strict=True)):
            if not buckets or not matches(rule.target_matchers, target_labels):
                continue
            candidates = buckets.get(rule.equal_key(target_labels), [])
            two_sided = matches(rule.source_matchers, target_labels)
            for source in candidates:
                if two_sided and source.matches_target:
                    continue
                reasons.append(Inhibition(i, rule, source.fingerprint, source.labels))
                break
        return reasons


def inhibited_by(
    rules: Sequence[InhibitRule],
    target_labels: Mapping[str, str],
    firing_sources: Iterable[Mapping[str, str]],
) -> list[Inhibition]:
    """Why `target_labels` is inhibited (empty: it is not). For many targets, build an index once."""
    return InhibitionIndex(rules, firing_sources).inhibited_by(target_labels)
