"""Which firing alerts could inhibit the alerts being judged: a WHERE clause, so processing reads
those few rows instead of every open alert of the tenant (an alert storm has thousands).

A source of rule R can inhibit target T only if it has T's values of R's `equal` labels, so per
rule the clause asks for those values (plus the source matchers' `severity="…"`, a column). It
narrows; it never decides: the inhibition index still applies every matcher to what it reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import Boolean, ColumnElement, String, and_, bindparam, cast, func, or_, true
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from alert_handler.domain.matchers import MatchOp
from alert_handler.muting.inhibit import InhibitRule
from alert_handler.store.tables import alerts_table as alerts

# Fields matchers see besides the labels (routing/view.py: match_labels); a label of the same
# name may stand in for source and title, so only severity (always the column) narrows.
_NATIVE = frozenset({"source", "title", "tags", "severity"})
# Past this many value sets a rule's clause would be a statement of thousands of terms: read the
# rule's sources unnarrowed (PostgreSQL takes any number in one array).
_MAX_TERMS = 100


def sources_clause(
    rules: Sequence[InhibitRule], target_keys: Sequence[set[tuple[str, ...]]], dialect: str
) -> ColumnElement[bool] | None:
    """Rows that could inhibit a target: per rule, `target_keys` holds the targets' `equal` values
    (`InhibitRule.target_keys`). None when no rule can inhibit any."""
    clauses = []
    for index, (rule, keys) in enumerate(zip(rules, target_keys, strict=True)):
        if keys:
            clauses.append(_rule_clause(index, rule, keys, dialect))
    return or_(*clauses) if clauses else None


def _rule_clause(index: int, rule: InhibitRule, keys: set[tuple[str, ...]], dialect: str) -> ColumnElement[bool]:
    severity = [
        alerts.c.severity == m.value for m in rule.source_matchers if m.name == "severity" and m.op is MatchOp.EQ
    ]
    return and_(*severity, _equal_clause(index, rule, keys, dialect))


def _equal_clause(index: int, rule: InhibitRule, keys: set[tuple[str, ...]], dialect: str) -> ColumnElement[bool]:
    names = rule.equal
    if not names:
        return true()
    if dialect == "postgresql" and all(n not in _NATIVE for n in names) and all(all(key) for key in keys):
        # One array of label documents, matched with the GIN index on labels.
        docs = sorted(orjson.dumps(dict(zip(names, key, strict=True))).decode() for key in keys)
        param = bindparam(f"inhibit_docs_{index}", docs, type_=ARRAY(String()))
        return alerts.c.labels.op("@>", return_type=Boolean)(func.any(cast(param, ARRAY(JSONB))))
    if len(keys) > _MAX_TERMS:
        return true()
    return or_(*(and_(*(_equals(name, value) for name, value in zip(names, key, strict=True))) for key in keys))


def _equals(name: str, value: str) -> ColumnElement[bool]:
    if name == "severity":
        return alerts.c.severity == value
    if name in _NATIVE:
        return true()  # read it; the index compares
    label = alerts.c.labels[name].as_string()
    return func.coalesce(label, "") == value if value == "" else label == value
