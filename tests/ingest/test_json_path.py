"""Paths of the generic webhook's field mapping."""

from __future__ import annotations

import pytest

from alert_handler.ingest.json_path import MISSING, format_path, lookup, parse_path


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("title", ("title",)),
        ("alert.labels", ("alert", "labels")),
        ("$.alert.labels", ("alert", "labels")),
        ("alerts[0].title", ("alerts", 0, "title")),
        ('data["host.name"]', ("data", "host.name")),
        ("data['a b']", ("data", "a b")),
        ("$[2]", (2,)),
        ("a-b.c_d", ("a-b", "c_d")),
    ],
)
def test_parse(text: str, path: tuple[str | int, ...]) -> None:
    assert parse_path(text) == path


@pytest.mark.parametrize("text", ["", "$", "a..b", ".a", "a.", "a[x]", "a[0]b", "a b", "a[", '["unterminated]'])
def test_refused(text: str) -> None:
    with pytest.raises(ValueError, match="path"):
        parse_path(text)


def test_lookup() -> None:
    doc = {"a": {"b": [{"c": 1}, {"c": None}]}, "host.name": "x"}
    assert lookup(doc, ("a", "b", 0, "c")) == 1
    assert lookup(doc, ("a", "b", 1, "c")) is None
    assert lookup(doc, ("a", "b", 2, "c")) is MISSING
    assert lookup(doc, ("a", "x")) is MISSING
    assert lookup(doc, ("a", 0)) is MISSING
    assert lookup([1], ("a",)) is MISSING
    assert lookup(doc, ("host.name",)) == "x"


def test_format_round_trips() -> None:
    for text in ("alerts[0].title", 'data["host.name"]', "a-b.c"):
        assert format_path(parse_path(text)) == text
