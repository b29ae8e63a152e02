"""Inhibition rules: Alertmanager's semantics, explanations, and the index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hypothesis import given
from hypothesis import strategies as st

from alert_handler.domain.fingerprint import label_fingerprint
from alert_handler.domain.matchers import Matcher, parse_matchers
from alert_handler.muting.inhibit import InhibitionIndex, InhibitRule, inhibited_by


def rule(source: str, target: str, *equal: str, name: str = "") -> InhibitRule:
    return InhibitRule(tuple(parse_matchers(source)), tuple(parse_matchers(target)), equal, name)


CRIT_MUTES_WARN = rule('severity="critical"', 'severity="warning"', "alertname", "cluster", name="crit>warn")


def test_critical_inhibits_warning_with_equal_labels() -> None:
    source = {"alertname": "DiskFull", "cluster": "a", "severity": "critical"}
    target = {"alertname": "DiskFull", "cluster": "a", "severity": "warning"}
    [reason] = inhibited_by([CRIT_MUTES_WARN], target, [source])
    assert reason.rule_index == 0
    assert reason.rule is CRIT_MUTES_WARN
    assert reason.rule.name == "crit>warn"
    assert reason.source_fingerprint == label_fingerprint(source)
    assert reason.source_labels == source


def test_equal_label_differs_no_inhibition() -> None:
    source = {"alertname": "DiskFull", "cluster": "a", "severity": "critical"}
    target = {"alertname": "DiskFull", "cluster": "b", "severity": "warning"}
    assert inhibited_by([CRIT_MUTES_WARN], target, [source]) == []


def test_absent_equals_absent_and_empty() -> None:
    r = rule('severity="critical"', 'severity="warning"', "cluster")
    assert inhibited_by([r], {"severity": "warning"}, [{"severity": "critical"}])
    assert inhibited_by([r], {"severity": "warning", "cluster": ""}, [{"severity": "critical"}])
    assert not inhibited_by([r], {"severity": "warning", "cluster": "a"}, [{"severity": "critical"}])
    assert not inhibited_by([r], {"severity": "warning"}, [{"severity": "critical", "cluster": "a"}])


def test_no_equal_labels_any_source_inhibits() -> None:
    r = rule('alertname="ClusterDown"', 'severity!="critical"')
    assert inhibited_by([r], {"alertname": "X", "severity": "warning"}, [{"alertname": "ClusterDown"}])
    assert not inhibited_by([r], {"alertname": "X", "severity": "critical"}, [{"alertname": "ClusterDown"}])


def test_target_must_match_target_matchers_and_source_source_matchers() -> None:
    source = {"alertname": "A", "severity": "critical"}
    assert not inhibited_by([CRIT_MUTES_WARN], {"alertname": "A", "severity": "info"}, [source])
    assert not inhibited_by(
        [CRIT_MUTES_WARN], {"alertname": "A", "severity": "warning"}, [{"alertname": "A", "severity": "major"}]
    )


def test_no_sources_no_rules() -> None:
    target = {"alertname": "A", "severity": "warning"}
    assert inhibited_by([CRIT_MUTES_WARN], target, []) == []
    assert inhibited_by([], target, [{"alertname": "A", "severity": "critical"}]) == []


def test_alert_matching_both_sides_does_not_inhibit_itself() -> None:
    r = rule('alertname="NodeDown"', 'alertname="NodeDown"', "alertname")
    me = {"alertname": "NodeDown", "instance": "a"}
    assert inhibited_by([r], me, [me]) == []


def test_two_sided_peers_do_not_inhibit_each_other_as_in_alertmanager() -> None:
    # Both match source and target: Alertmanager's excludeTwoSidedMatch skips such sources.
    r = rule('alertname="NodeDown"', 'alertname="NodeDown"')
    a = {"alertname": "NodeDown", "instance": "a"}
    b = {"alertname": "NodeDown", "instance": "b"}
    assert inhibited_by([r], a, [a, b]) == []


def test_two_sided_target_still_inhibited_by_a_one_sided_source() -> None:
    r = rule('severity=~"critical|warning"', 'severity="warning"', "alertname")
    target = {"alertname": "A", "severity": "warning"}  # matches both sides
    other_warning = {"alertname": "A", "severity": "warning", "instance": "2"}  # both sides: skipped
    critical = {"alertname": "A", "severity": "critical"}  # source only
    assert inhibited_by([r], target, [target, other_warning]) == []
    [reason] = inhibited_by([r], target, [target, other_warning, critical])
    assert reason.source_labels == critical


def test_one_sided_target_inhibited_by_two_sided_source() -> None:
    r = rule('severity=~"critical|warning"', 'severity=~"warning|info"', "alertname")
    source = {"alertname": "A", "severity": "warning"}  # matches both sides
    target = {"alertname": "A", "severity": "info"}  # target only
    assert inhibited_by([r], target, [source])


def test_one_reason_per_inhibiting_rule_in_rule_order() -> None:
    rules = [
        rule('severity="critical"', 'severity="warning"', "cluster", name="by-cluster"),
        rule('alertname="Unrelated"', 'severity="warning"', name="unrelated"),
        rule('alertname="ClusterDown"', 'cluster="a"', name="cluster-down"),
    ]
    target = {"alertname": "Lag", "cluster": "a", "severity": "warning"}
    sources = [
        {"alertname": "ClusterDown", "cluster": "a"},
        {"alertname": "Other", "cluster": "a", "severity": "critical"},
        {"alertname": "Third", "cluster": "a", "severity": "critical"},
    ]
    reasons = inhibited_by(rules, target, sources)
    assert [(r.rule_index, r.rule.name) for r in reasons] == [(0, "by-cluster"), (2, "cluster-down")]
    assert reasons[0].source_labels == sources[1]  # the first qualifying source, in input order
    assert reasons[1].source_labels == sources[0]


def test_duplicate_sources_are_indexed_once() -> None:
    source = {"alertname": "A", "cluster": "a", "severity": "critical"}
    index = InhibitionIndex([CRIT_MUTES_WARN], [source, dict(source), source])
    [reason] = index.inhibited_by({"alertname": "A", "cluster": "a", "severity": "warning"})
    assert reason.source_fingerprint == label_fingerprint(source)
    assert index.source_count(0) == 1


def test_source_count_per_rule() -> None:
    rules = [CRIT_MUTES_WARN, rule('alertname="A"', 'severity="info"')]
    sources = [
        {"alertname": "A", "cluster": "a", "severity": "critical"},
        {"alertname": "A", "cluster": "b", "severity": "critical"},
        {"alertname": "A", "cluster": "b", "severity": "warning"},
        {"alertname": "B", "severity": "warning"},
    ]
    index = InhibitionIndex(rules, sources)
    assert [index.source_count(0), index.source_count(1)] == [2, 3]


def test_index_answers_many_targets() -> None:
    sources = [{"alertname": "Down", "cluster": f"c{i}", "severity": "critical"} for i in range(0, 2000, 2)]
    r = rule('severity="critical"', 'severity="warning"', "cluster")
    index = InhibitionIndex([r], sources)
    inhibited = [i for i in range(2000) if index.inhibited_by({"cluster": f"c{i}", "severity": "warning"})]
    assert inhibited == list(range(0, 2000, 2))


def test_index_accepts_a_one_shot_iterator() -> None:
    source = {"alertname": "A", "cluster": "a", "severity": "critical"}
    index = InhibitionIndex([CRIT_MUTES_WARN], iter([source]))
    target = {"alertname": "A", "cluster": "a", "severity": "warning"}
    assert index.inhibited_by(target)
    assert index.inhibited_by(target)  # the index kept the sources


# Property: the index agrees with a direct transcription of Alertmanager's Mutes/hasEqual.
NAMES = ["alertname", "severity", "cluster"]
VALUES = ["", "A", "critical", "warning"]
labels_st = st.dictionaries(st.sampled_from(NAMES), st.sampled_from(VALUES[1:]), max_size=3)
matchers_st = st.lists(
    st.builds(
        lambda n, op, v: f'{n}{op}"{v}"',
        st.sampled_from(NAMES),
        st.sampled_from(["=", "!=", "=~"]),
        st.sampled_from(VALUES),
    ),
    max_size=2,
).map(", ".join)
rule_st = st.builds(
    lambda s, t, eq: rule(s, t, *eq),
    matchers_st,
    matchers_st,
    st.lists(st.sampled_from(NAMES), max_size=2, unique=True),
)


def reference(rules: list[InhibitRule], target: Mapping[str, str], sources: list[dict[str, str]]) -> list[int]:
    def all_match(ms: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
        return all(m.matches_labels(labels) for m in ms)

    hits = []
    for i, r in enumerate(rules):
        if not all_match(r.target_matchers, target):
            continue
        exclude_two_sided = all_match(r.source_matchers, target)
        for s in sources:
            if not all_match(r.source_matchers, s):
                continue
            if any(s.get(n, "") != target.get(n, "") for n in r.equal):
                continue
            if exclude_two_sided and all_match(r.target_matchers, s):
                continue
            hits.append(i)
            break
    return hits


@given(st.lists(rule_st, max_size=3), labels_st, st.lists(labels_st, max_size=6))
def test_index_agrees_with_alertmanager_reference(
    rules: list[InhibitRule], target: dict[str, str], sources: list[dict[str, str]]
) -> None:
    reasons = inhibited_by(rules, target, sources)
    assert [r.rule_index for r in reasons] == reference(rules, target, sources)
    for reason in reasons:
        assert reason.source_labels in sources
        assert reason.source_fingerprint == label_fingerprint(reason.source_labels)


@given(st.lists(rule_st, max_size=3), labels_st)
def test_an_alert_alone_never_inhibits_itself(rules: list[InhibitRule], alert: dict[str, str]) -> None:
    assert inhibited_by(rules, alert, [alert]) == []
