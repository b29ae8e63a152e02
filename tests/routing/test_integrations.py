"""The `integrations:` section: validated at load, every problem named by its path."""

from __future__ import annotations

from typing import Any

import pytest

from alert_handler.routing.config import InvalidConfig, parse_config

BASE: dict[str, Any] = {"receivers": [{"name": "log", "type": "log"}], "route": {"receiver": "log"}}
TOKEN = "0123456789abcdef0123"


def config(*integrations: dict[str, Any]) -> dict[str, Any]:
    return {**BASE, "integrations": list(integrations)}


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidConfig) as caught:
        parse_config(data)
    return [(p.path, p.message) for p in caught.value.problems]


def test_a_valid_section() -> None:
    loaded = parse_config(
        config(
            {"name": "am", "type": "alertmanager", "auth": {"token": TOKEN}},
            {"name": "gf", "type": "grafana", "auth": {"hmac_secret": TOKEN, "hmac_header": "X-Grafana-Signature"}},
            {"name": "shop", "type": "generic", "severity": "p2", "mapping": {"title": "a.b", "labels": "tags"}},
        )
    )
    am = loaded.integration("am")
    assert am is not None and am.auth.token is not None and am.auth.token.get_secret_value() == TOKEN
    assert "0123456789" not in repr(am)  # the token is a SecretStr
    shop = loaded.integration("shop")
    assert shop is not None and shop.severity is not None and shop.severity.value == "high"
    assert loaded.integration("nope") is None


@pytest.mark.parametrize(
    ("integration", "path", "says"),
    [
        ({"name": "x", "type": "nagios"}, "integrations[0].type", "alertmanager"),
        ({"name": "bad name", "type": "grafana"}, "integrations[0].name", "pattern"),
        ({"name": "x", "type": "generic"}, "integrations[0]", "needs a mapping"),
        ({"name": "x", "type": "zabbix", "mapping": {"title": "t"}}, "integrations[0]", "generic"),
        ({"name": "x", "type": "generic", "mapping": {"title": "a..b"}}, "integrations[0].mapping.title", "path"),
        ({"name": "x", "type": "generic", "mapping": {}}, "integrations[0].mapping.title", "required"),
        ({"name": "x", "type": "grafana", "auth": {"token": "short"}}, "integrations[0].auth.token", "16"),
        ({"name": "x", "type": "grafana", "auth": {"hmac_header": "X Sig"}}, "integrations[0].auth.hmac_header", ""),
        ({"name": "x", "type": "grafana", "severity": "urgent"}, "integrations[0].severity", "not a severity"),
        ({"name": "x", "type": "grafana", "tokn": TOKEN}, "integrations[0].tokn", "unknown key"),
    ],
)
def test_problems_are_named_by_path(integration: dict[str, Any], path: str, says: str) -> None:
    found = problems(config(integration))
    assert any(p == path and says in message for p, message in found), found


def test_duplicate_names() -> None:
    found = problems(config({"name": "a", "type": "grafana"}, {"name": "a", "type": "zabbix"}))
    assert found == [("integrations[1].name", "duplicate name 'a'")]
