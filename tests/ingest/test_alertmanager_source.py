"""Alertmanager's postable alerts: Alertmanager's checks and messages, and its time semantics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from alert_handler.domain.fingerprint import label_fingerprint
from alert_handler.domain.severity import Severity
from alert_handler.errors import InvalidInput
from alert_handler.ingest.sources.alertmanager_api import SOURCE, PostableAlert, parse_postable

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TIMEOUT = timedelta(minutes=5)


def parse(*alerts: Any, max_batch: int = 100) -> list[PostableAlert]:
    return parse_postable(orjson.dumps(list(alerts)), max_batch=max_batch)


def refused(*alerts: Any, body: bytes | None = None) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_postable(body if body is not None else orjson.dumps(list(alerts)), max_batch=100)
    return str(caught.value)


def normalized(alert: dict[str, Any]) -> Any:
    return parse(alert)[0].normalize(tenant="t", actor="api-key:prom", now=NOW, resolve_timeout=TIMEOUT)


def test_a_prometheus_alert_is_normalized() -> None:
    got = normalized(
        {
            "labels": {"alertname": "DiskFull", "instance": "db-1", "severity": "page"},
            "annotations": {"summary": "disk full on db-1", "description": "98 % used"},
            "startsAt": "2026-03-01T11:58:00.123Z",
            "endsAt": "2026-03-01T12:04:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        }
    )
    assert got.source == SOURCE and got.tenant == "t" and got.actor == "api-key:prom"
    assert got.fingerprint == label_fingerprint({"alertname": "DiskFull", "instance": "db-1", "severity": "page"})
    assert got.severity is Severity.CRITICAL
    assert (got.title, got.description) == ("disk full on db-1", "98 % used")
    assert got.starts_at == datetime(2026, 3, 1, 11, 58, 0, 123000, tzinfo=UTC)
    assert got.ends_at == datetime(2026, 3, 1, 12, 4, tzinfo=UTC)
    assert not got.resolved
    assert got.generator_url == "http://prometheus:9090/graph?g0.expr=x"
    assert got.dedup_key is None and got.tags == [] and got.metadata == {}


def test_labels_alone_are_the_identity() -> None:
    one = normalized({"labels": {"a": "1", "b": "2"}, "annotations": {"summary": "x"}})
    two = normalized({"labels": {"b": "2", "a": "1", "empty": ""}, "annotations": {"summary": "y"}})
    other = normalized({"labels": {"a": "1", "b": "3"}})
    assert one.fingerprint == two.fingerprint != other.fingerprint
    assert two.labels == {"b": "2", "a": "1"}, "labels of an empty value are dropped, as Alertmanager drops them"


def test_missing_ends_at_is_now_plus_the_resolve_timeout() -> None:
    got = normalized({"labels": {"alertname": "X"}})
    assert (got.starts_at, got.ends_at, got.resolved) == (NOW, NOW + TIMEOUT, False)


def test_missing_starts_at_is_ends_at() -> None:
    got = normalized({"labels": {"alertname": "X"}, "endsAt": "2026-03-01T12:10:00Z"})
    assert got.starts_at == got.ends_at == datetime(2026, 3, 1, 12, 10, tzinfo=UTC)


@pytest.mark.parametrize("ends_at", ["2026-03-01T11:00:00Z", "2026-03-01T12:00:00Z"])
def test_ends_at_not_in_the_future_resolves(ends_at: str) -> None:
    got = normalized({"labels": {"alertname": "X"}, "startsAt": "2026-03-01T10:00:00Z", "endsAt": ends_at})
    assert got.resolved


def test_go_zero_times_count_as_missing() -> None:
    zero = "0001-01-01T00:00:00Z"
    got = normalized({"labels": {"alertname": "X"}, "startsAt": zero, "endsAt": zero})
    assert (got.starts_at, got.ends_at, got.resolved) == (NOW, NOW + TIMEOUT, False)


def test_times_without_a_zone_are_utc() -> None:
    got = normalized({"labels": {"alertname": "X"}, "startsAt": "2026-03-01T11:00:00"})
    assert got.starts_at == datetime(2026, 3, 1, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("labels", "severity"),
    [({"severity": "warning"}, Severity.WARNING), ({"severity": "error"}, Severity.HIGH), ({}, Severity.WARNING),
     ({"severity": "whatever"}, Severity.WARNING), ({"severity": "info"}, Severity.INFO)],
)  # fmt: skip
def test_severity_comes_from_the_severity_label(labels: dict[str, str], severity: Severity) -> None:
    assert normalized({"labels": {"alertname": "X", **labels}}).severity is severity


def test_title_is_the_summary_else_the_alertname_else_the_labels() -> None:
    assert normalized({"labels": {"alertname": "X"}, "annotations": {"summary": "S"}}).title == "S"
    assert normalized({"labels": {"alertname": "X"}}).title == "X"
    assert normalized({"labels": {"job": "node", "a": "1"}}).title == '{a="1", job="node"}'
    assert len(normalized({"labels": {"alertname": "X"}, "annotations": {"summary": "s" * 900}}).title) == 500


def test_unknown_fields_are_ignored() -> None:
    got = normalized({"labels": {"alertname": "X"}, "status": "whatever", "receivers": [1], "fingerprint": 3})
    assert got.labels == {"alertname": "X"}


def test_an_empty_list_is_fine() -> None:
    assert parse() == []


@pytest.mark.parametrize(
    ("alert", "message"),
    [
        ({"labels": {}}, "alerts[0].labels: at least one label pair required"),
        ({"labels": {"only": ""}}, "alerts[0].labels: at least one label pair required"),
        ({"labels": {"1st": "x"}}, 'alerts[0].labels: invalid label set: invalid name "1st"'),
        ({"labels": {"a-b": "x"}}, 'alerts[0].labels: invalid label set: invalid name "a-b"'),
        ({"labels": {"a": "1"}, "annotations": {"no good": "x"}}, 'invalid annotations: invalid name "no good"'),
        (
            {"labels": {"a": "1"}, "startsAt": "2026-03-01T12:00:00Z", "endsAt": "2026-03-01T11:00:00Z"},
            "alerts[0].endsAt: start time must be before end time",
        ),
        ({"annotations": {}}, "alerts[0].labels: Field required"),
        ({"labels": {"a": 1}}, "alerts[0].labels.a: Input should be a valid string"),
        ({"labels": {"a": "1"}, "startsAt": "yesterday"}, "alerts[0].startsAt: Input should be a valid datetime"),
        ({"labels": {"a": "x\u0000y"}}, "alerts[0].labels: contains a NUL character"),
    ],
)
def test_invalid_alerts_are_refused_with_the_reason(alert: dict[str, Any], message: str) -> None:
    assert message in refused({"labels": {"ok": "1"}}, alert).replace("alerts[1]", "alerts[0]")


def test_every_problem_is_named_and_the_body_must_be_a_list() -> None:
    both = refused({"labels": {}}, {"labels": {"9": "x"}})
    assert both.startswith("alerts[0].labels: at least one label pair required; alerts[1].labels: invalid label")
    assert "Input should be a valid array" in refused(body=b'{"labels": {"a": "1"}}')
    assert "Invalid JSON" in refused(body=b"[{")


def test_a_batch_is_bounded() -> None:
    with pytest.raises(InvalidInput, match="at most 2 alerts per request"):
        parse({"labels": {"a": "1"}}, {"labels": {"a": "2"}}, {"labels": {"a": "3"}}, max_batch=2)
