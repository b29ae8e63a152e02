"""Alert identity: what makes two alerts the same alert, and what does not."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alert_handler.domain.fingerprint import fingerprint, label_fingerprint
from alert_handler.settings import DEFAULT_IDENTITY_KEYS

IDENTITY = list(DEFAULT_IDENTITY_KEYS)


def fp(**overrides: Any) -> str:
    values: dict[str, Any] = {
        "source": "prometheus",
        "title": "CPU high",
        "labels": {"team": "db", "env": "prod"},
        "metadata": {"host": "web-01", "cpu_usage": 95.2},
        "identity_keys": IDENTITY,
    }
    values.update(overrides)
    return fingerprint(**values)


def test_same_alert_same_fingerprint() -> None:
    assert fp() == fp()


def test_fingerprint_is_a_short_hex_digest() -> None:
    value = fp()
    assert len(value) == 32
    int(value, 16)


def test_label_order_does_not_matter() -> None:
    assert fp(labels={"team": "db", "env": "prod"}) == fp(labels={"env": "prod", "team": "db"})


def test_metadata_order_does_not_matter() -> None:
    a = fp(metadata={"host": "web-01", "service": "api", "cpu_usage": 1})
    b = fp(metadata={"cpu_usage": 1, "service": "api", "host": "web-01"})
    assert a == b


def test_identity_key_order_does_not_matter() -> None:
    metadata = {"host": "web-01", "service": "api"}
    assert fp(metadata=metadata, identity_keys=["host", "service"]) == fp(
        metadata=metadata, identity_keys=["service", "host"]
    )


def test_nested_metadata_values_are_canonical() -> None:
    a = fp(metadata={"resource": {"b": 1, "a": [1, 2]}})
    b = fp(metadata={"resource": {"a": [1, 2], "b": 1}})
    assert a == b
    assert a != fp(metadata={"resource": {"a": [2, 1], "b": 1}})


def test_metadata_outside_the_identity_keys_is_ignored() -> None:
    base = fp(metadata={"host": "web-01", "cpu_usage": 95.2})
    assert fp(metadata={"host": "web-01", "cpu_usage": 12.0}) == base
    assert fp(metadata={"host": "web-01"}) == base
    assert fp(metadata={"host": "web-01", "anything": {"deep": True}}) == base


def test_each_identity_key_in_metadata_changes_the_fingerprint() -> None:
    base = fp(metadata={})
    seen = {base}
    for key in IDENTITY:
        value = fp(metadata={key: "x"})
        assert value != base, key
        seen.add(value)
    assert len(seen) == len(IDENTITY) + 1


def test_identity_metadata_values_matter() -> None:
    assert fp(metadata={"host": "web-01"}) != fp(metadata={"host": "web-02"})
    assert fp(metadata={"host": "1"}) != fp(metadata={"host": 1})


def test_identity_keys_are_configurable() -> None:
    metadata = {"host": "web-01", "region": "eu"}
    assert fp(metadata=metadata, identity_keys=["host"]) == fp(metadata={"host": "web-01"}, identity_keys=["host"])
    assert fp(metadata=metadata, identity_keys=["region"]) != fp(metadata={"region": "us"}, identity_keys=["region"])
    assert fp(metadata=metadata, identity_keys=[]) == fp(metadata={}, identity_keys=[])


def test_source_title_and_labels_are_identity() -> None:
    base = fp()
    assert fp(source="zabbix") != base
    assert fp(title="CPU very high") != base
    assert fp(labels={"team": "db", "env": "staging"}) != base
    assert fp(labels={"team": "db"}) != base
    assert fp(labels={"team": "db", "env": "prod", "extra": ""}) != base
    assert fp(labels={}) != base


def test_fields_do_not_run_into_each_other() -> None:
    assert fp(source="ab", title="c") != fp(source="a", title="bc")
    assert fp(labels={"a": "bc"}) != fp(labels={"ab": "c"})


def test_dedup_key_wins_over_everything() -> None:
    assert fp(dedup_key="db-backup-failed") == "db-backup-failed"
    assert fp(dedup_key="k", source="other", title="other", labels={}, metadata={"host": "z"}) == "k"


def test_empty_dedup_key_falls_back_to_the_hash() -> None:
    assert fp(dedup_key="") == fp()
    assert fp(dedup_key=None) == fp()


def test_label_fingerprint_is_the_sorted_label_set() -> None:
    assert label_fingerprint({"a": "1", "b": "2"}) == label_fingerprint({"b": "2", "a": "1"})
    assert label_fingerprint({"a": "1"}) != label_fingerprint({"a": "2"})
    assert label_fingerprint({"a": "1"}) != label_fingerprint({"a": "1", "b": ""})
    assert len(label_fingerprint({})) == 32


names = st.text(min_size=1, max_size=10)
values = st.text(max_size=10)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@given(
    labels=st.dictionaries(names, values, max_size=6),
    metadata=st.dictionaries(names, json_values, max_size=6),
    identity_keys=st.lists(names, max_size=4),
    data=st.data(),
)
def test_fingerprint_does_not_depend_on_insertion_order(
    labels: dict[str, str], metadata: dict[str, Any], identity_keys: list[str], data: st.DataObject
) -> None:
    shuffled_labels = dict(data.draw(st.permutations(list(labels.items()))))
    shuffled_metadata = dict(data.draw(st.permutations(list(metadata.items()))))
    shuffled_keys = data.draw(st.permutations(identity_keys))
    assert fp(labels=labels, metadata=metadata, identity_keys=identity_keys) == fp(
        labels=shuffled_labels, metadata=shuffled_metadata, identity_keys=shuffled_keys
    )


@given(
    metadata=st.dictionaries(st.sampled_from(IDENTITY), json_values, max_size=3),
    noise=st.dictionaries(names.filter(lambda k: k not in IDENTITY), json_values, max_size=4),
)
def test_non_identity_metadata_never_changes_the_fingerprint(metadata: dict[str, Any], noise: dict[str, Any]) -> None:
    assert fp(metadata={**noise, **metadata}) == fp(metadata=metadata)
