"""/api/v1/webhooks/{integration}: each integration's sample payload stored with the right fields
and identity, repeats, resolves, acknowledgements, authentication (token, HMAC, API keys) and
malformed payloads named by field."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alert_handler.domain.fingerprint import label_fingerprint
from alert_handler.security.keys import Scope
from tests.api.conftest import Clock, get_alert, list_alerts, make_clocked_api
from tests.conftest import Api

SAMPLES = Path(__file__).parent.parent / "ingest" / "samples"
AM_TOKEN = "am-token-0123456789abcdef"
GRAFANA_SECRET = "grafana-hmac-secret-0123456789"
ZABBIX_TOKEN = "zabbix-token-0123456789abcdef"
PD_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
GENERIC_TOKEN = "generic-token-0123456789abcdef"

CONFIG = f"""
receivers:
  - {{name: log, type: log}}
route:
  receiver: log
integrations:
  - name: am
    type: alertmanager
    auth: {{token: {AM_TOKEN}}}
  - name: grafana
    type: grafana
    auth: {{hmac_secret: {GRAFANA_SECRET}, hmac_header: X-Grafana-Alerting-Signature, hmac_prefix: "sha256="}}
  - name: zabbix
    type: zabbix
    auth: {{token: {ZABBIX_TOKEN}}}
  - name: pd
    type: pagerduty
    auth: {{token: {PD_KEY}}}
  - name: shop
    type: generic
    auth: {{token: {GENERIC_TOKEN}}}
    source: shop-monitor
    severity: info
    mapping:
      alerts: events
      title: summary
      severity: level
      labels: tags
      dedup_key: id
      status: state
      description: details.text
  - name: keys-only
    type: alertmanager
"""


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())  # type: ignore[no-any-return]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def hooks(database_url: str, config_file: Path, clock: Clock) -> AsyncIterator[Api]:
    async for made in make_clocked_api(database_url, clock, config_file=str(config_file)):
        yield made


@pytest.fixture
async def sqlite_hooks(sqlite_url: str, config_file: Path, clock: Clock) -> AsyncIterator[Api]:
    async for made in make_clocked_api(sqlite_url, clock, config_file=str(config_file)):
        yield made


async def post(
    api: Api, integration: str, body: Any, *, token: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    params = {"token": token} if token else None
    sent = {"Content-Type": "application/json", **(headers or {})}
    return await api.client.post(f"/api/v1/webhooks/{integration}", content=raw, params=params, headers=sent)


def signed(body: Any, secret: str = GRAFANA_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Grafana-Alerting-Signature": f"sha256={digest}"}


def stored_ok(response: httpx.Response, count: int = 1, status: int = 200) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["count"] == count
    return answer["results"]  # type: ignore[no-any-return]


class TestAlertmanager:
    async def test_sample_is_stored_with_label_identity(self, hooks: Api) -> None:
        results = stored_ok(await post(hooks, "am", sample("alertmanager-v4.json"), token=AM_TOKEN), count=2)
        assert [r["outcome"] for r in results] == ["created", "created"]
        first = await get_alert(hooks, results[0]["id"])
        labels = sample("alertmanager-v4.json")["alerts"][0]["labels"]
        assert first["fingerprint"] == label_fingerprint(labels)
        assert first["title"] == "High request latency on web-01"
        assert first["description"] == "99th percentile latency is 2.3s (threshold 1s)."
        assert first["severity"] == "critical"  # "page"
        assert first["source"] == "alertmanager"
        assert first["labels"] == labels
        assert first["annotations"]["runbook_url"] == "https://runbooks.example.com/latency"
        assert first["generator_url"].startswith("http://prometheus:9090/graph")
        assert first["ends_at"] is None
        assert first["starts_at"].startswith("2026-03-01T11:58:30.123")
        assert first["metadata"]["integration"] == "am"
        assert first["metadata"]["alertmanager_fingerprint"] == "4f1e6e4a9c3b2d10"
        assert first["timeline"][0]["kind"] == "received"

    async def test_repeat_is_a_duplicate_and_resolved_resolves(self, hooks: Api) -> None:
        body = sample("alertmanager-v4.json")
        created = stored_ok(await post(hooks, "am", body, token=AM_TOKEN), count=2)
        again = stored_ok(await post(hooks, "am", body, token=AM_TOKEN), count=2)
        assert [r["outcome"] for r in again] == ["duplicate", "duplicate"]
        assert [r["id"] for r in again] == [r["id"] for r in created]
        resolved = copy.deepcopy(body)
        resolved["status"] = "resolved"
        resolved["alerts"] = resolved["alerts"][:1]
        resolved["alerts"][0].update(status="resolved", endsAt="2026-03-01T11:59:30Z")
        done = stored_ok(await post(hooks, "am", resolved, token=AM_TOKEN))
        assert (done[0]["outcome"], done[0]["status"], done[0]["id"]) == ("resolved", "resolved", created[0]["id"])
        stored = await get_alert(hooks, created[0]["id"])
        assert stored["resolved_by"] == "integration:am"
        assert stored["ends_at"].startswith("2026-03-01T11:59:30")
        other = await get_alert(hooks, created[1]["id"])
        assert other["status"] == "firing" and other["duplicate_count"] == 1

    async def test_unknown_fields_are_ignored(self, sqlite_hooks: Api) -> None:
        body = sample("alertmanager-v4.json")
        body["someNewField"] = {"added": "in a later release"}
        body["alerts"][0]["newAlertField"] = 1
        stored_ok(await post(sqlite_hooks, "am", body, token=AM_TOKEN), count=2)

    @pytest.mark.parametrize(
        ("change", "loc"),
        [
            (lambda b: b.pop("alerts"), ["body", "alerts"]),
            (lambda b: b.update(version="3"), ["body", "version"]),
            (lambda b: b["alerts"][1].update(status="pending"), ["body", "alerts", 1, "status"]),
            (lambda b: b["alerts"][0].update(labels=["not", "a", "map"]), ["body", "alerts", 0, "labels"]),
            (lambda b: b["alerts"][0].update(startsAt="yesterday"), ["body", "alerts", 0, "startsAt"]),
        ],
    )
    async def test_malformed_payload_names_the_field(self, sqlite_hooks: Api, change: Any, loc: list[Any]) -> None:
        body = sample("alertmanager-v4.json")
        change(body)
        response = await post(sqlite_hooks, "am", body, token=AM_TOKEN)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == loc
        assert (await list_alerts(sqlite_hooks))["total"] == 0  # nothing partial

    async def test_not_json_is_a_422(self, sqlite_hooks: Api) -> None:
        response = await post(sqlite_hooks, "am", b"{not json", token=AM_TOKEN)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body"]


class TestGrafana:
    async def test_signed_sample_is_stored(self, hooks: Api) -> None:
        body = sample("grafana-alerting.json")
        raw, headers = signed(body)
        results = stored_ok(await post(hooks, "grafana", raw, headers=headers))
        stored = await get_alert(hooks, results[0]["id"])
        assert stored["title"] == "This alert was triggered for zone us-1"
        assert stored["source"] == "grafana"
        assert stored["severity"] == "warning"
        assert stored["fingerprint"] == label_fingerprint(body["alerts"][0]["labels"])
        assert stored["metadata"]["panel_url"].endswith("viewPanel=2")
        assert stored["metadata"]["values"] == {"B": 44.23943737541908, "C": 1}
        again = stored_ok(await post(hooks, "grafana", raw, headers=headers))
        assert (again[0]["outcome"], again[0]["id"]) == ("duplicate", results[0]["id"])
        body["alerts"][0]["status"] = "resolved"
        body["alerts"][0]["endsAt"] = "2026-03-01T10:10:00+02:00"
        raw, headers = signed(body)
        done = stored_ok(await post(hooks, "grafana", raw, headers=headers))
        assert done[0]["outcome"] == "resolved"

    async def test_bad_signature_is_refused(self, sqlite_hooks: Api) -> None:
        body = sample("grafana-alerting.json")
        raw, headers = signed(body, secret="another-secret-0123456789")
        response = await post(sqlite_hooks, "grafana", raw, headers=headers)
        assert response.status_code == 401
        assert "signature" in response.json()["detail"]
        raw, headers = signed(body)
        tampered = raw.replace(b"us-1", b"us-2")
        assert (await post(sqlite_hooks, "grafana", tampered, headers=headers)).status_code == 401
        assert (await post(sqlite_hooks, "grafana", raw)).status_code == 401
        assert (await list_alerts(sqlite_hooks))["total"] == 0

    async def test_signature_without_prefix_is_accepted(self, sqlite_hooks: Api) -> None:
        raw, headers = signed(sample("grafana-alerting.json"))
        headers = {k: v.removeprefix("sha256=").upper() for k, v in headers.items()}
        stored_ok(await post(sqlite_hooks, "grafana", raw, headers=headers))


class TestPagerDuty:
    async def test_trigger_acknowledge_resolve(self, hooks: Api) -> None:
        body = sample("pagerduty-v2-trigger.json")
        response = await post(hooks, "pd", body)  # the routing_key is the token
        results = stored_ok(response, status=202)
        answer = response.json()
        assert answer["status"] == "success" and answer["message"] == "Event processed"
        assert answer["dedup_key"] == "srv01/HTTP"
        stored = await get_alert(hooks, results[0]["id"])
        assert stored["fingerprint"] == stored["dedup_key"] == "srv01/HTTP"
        assert stored["title"] == "DISK at 99% on machine prod-datapipe03.example.com"
        assert stored["severity"] == "critical"
        assert stored["source"] == "pagerduty"
        assert stored["labels"] == {"component": "mysql", "group": "prod-datapipe", "class": "disk"}
        assert stored["metadata"]["host"] == "prod-datapipe03.example.com"
        assert stored["metadata"]["custom_details"]["free space"] == "1%"
        assert stored["generator_url"] == "https://monitoring.example.com"
        again = stored_ok(await post(hooks, "pd", body), status=202)
        assert again[0]["outcome"] == "duplicate"

        ack = {"routing_key": PD_KEY, "event_action": "acknowledge", "dedup_key": "srv01/HTTP"}
        response = await post(hooks, "pd", ack)
        assert response.status_code == 202, response.text
        assert response.json()["acknowledgements"] == [
            {"fingerprint": "srv01/HTTP", "outcome": "acknowledged", "id": results[0]["id"]}
        ]
        acked = await get_alert(hooks, results[0]["id"])
        assert acked["status"] == "acknowledged"
        assert acked["acknowledged_by"] == "integration:pd"
        assert acked["timeline"][-1]["kind"] == "acknowledged"
        assert acked["timeline"][-1]["actor"] == "integration:pd"
        twice = (await post(hooks, "pd", ack)).json()["acknowledgements"][0]["outcome"]
        assert twice == "duplicate"

        resolve = {"routing_key": PD_KEY, "event_action": "resolve", "dedup_key": "srv01/HTTP"}
        done = stored_ok(await post(hooks, "pd", resolve), status=202)
        assert (done[0]["outcome"], done[0]["id"]) == ("resolved", results[0]["id"])
        final = await get_alert(hooks, results[0]["id"])
        assert final["title"] == body["payload"]["summary"]  # a resolve without payload keeps the content

    async def test_acknowledge_of_unknown_key(self, sqlite_hooks: Api) -> None:
        ack = {"routing_key": PD_KEY, "event_action": "acknowledge", "dedup_key": "nothing-here"}
        response = await post(sqlite_hooks, "pd", ack)
        assert response.status_code == 202
        assert response.json()["acknowledgements"] == [{"fingerprint": "nothing-here", "outcome": "not_found"}]

    async def test_trigger_without_dedup_key_answers_the_key(self, sqlite_hooks: Api) -> None:
        body = sample("pagerduty-v2-trigger.json")
        del body["dedup_key"]
        response = await post(sqlite_hooks, "pd", body)
        key = response.json()["dedup_key"]
        resolve = {"routing_key": PD_KEY, "event_action": "resolve", "dedup_key": key}
        assert stored_ok(await post(sqlite_hooks, "pd", resolve), status=202)[0]["outcome"] == "resolved"

    @pytest.mark.parametrize(
        ("change", "loc"),
        [
            (lambda b: b.update(event_action="escalate"), ["body", "event_action"]),
            (lambda b: b["payload"].update(severity="fatal"), ["body", "payload", "severity"]),
            (lambda b: b["payload"].pop("summary"), ["body", "payload", "summary"]),
            (lambda b: b.pop("payload"), ["body"]),
        ],
    )
    async def test_malformed_event_names_the_field(self, sqlite_hooks: Api, change: Any, loc: list[Any]) -> None:
        body = sample("pagerduty-v2-trigger.json")
        change(body)
        response = await post(sqlite_hooks, "pd", body)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == loc

    async def test_wrong_routing_key_is_refused(self, sqlite_hooks: Api) -> None:
        body = sample("pagerduty-v2-trigger.json")
        body["routing_key"] = "another-key-0123456789abcdef"
        assert (await post(sqlite_hooks, "pd", body)).status_code == 401


class TestZabbix:
    async def test_problem_acknowledge_recovery(self, hooks: Api) -> None:
        body = sample("zabbix-problem.json")
        results = stored_ok(await post(hooks, "zabbix", body, token=ZABBIX_TOKEN))
        stored = await get_alert(hooks, results[0]["id"])
        assert stored["fingerprint"] == "zabbix:zabbix:1234567"
        assert stored["title"] == "MySQL: Service is down"
        assert stored["severity"] == "high"
        assert stored["source"] == "zabbix"
        assert stored["labels"] == {"class": "database", "component": "mysql", "scope": "availability", "host": "db-01"}
        assert stored["description"].startswith("Problem started at 11:42:58")
        assert stored["metadata"]["host_ip"] == "10.0.0.21"
        assert "update_action" not in stored["metadata"]  # the unresolved macro counts as empty
        assert stored["generator_url"].startswith("https://zabbix.example.com/tr_events.php")
        again = stored_ok(await post(hooks, "zabbix", body, token=ZABBIX_TOKEN))
        assert again[0]["outcome"] == "duplicate"

        update = {
            **body, "event_update_status": "1", "event_update_action": "acknowledged, commented",
            "event_update_user": "Jane Doe", "event_update_message": "looking at it",
        }  # fmt: skip
        response = await post(hooks, "zabbix", update, token=ZABBIX_TOKEN)
        assert response.status_code == 200, response.text
        assert response.json()["acknowledgements"][0]["outcome"] == "acknowledged"
        acked = await get_alert(hooks, results[0]["id"])
        assert acked["status"] == "acknowledged"
        assert acked["timeline"][-1]["detail"]["note"] == "Jane Doe: looking at it"

        recovery = {**body, "event_value": "0", "subject": "Resolved: MySQL: Service is down"}
        done = stored_ok(await post(hooks, "zabbix", recovery, token=ZABBIX_TOKEN))
        assert (done[0]["outcome"], done[0]["id"]) == ("resolved", results[0]["id"])

    async def test_bearer_token_works_too(self, sqlite_hooks: Api) -> None:
        headers = {"Authorization": f"Bearer {ZABBIX_TOKEN}"}
        stored_ok(await post(sqlite_hooks, "zabbix", sample("zabbix-problem.json"), headers=headers))

    @pytest.mark.parametrize(
        ("change", "loc"),
        [
            (lambda b: b.pop("event_id"), ["body", "event_id"]),
            (lambda b: b.update(event_value="2"), ["body", "event_value"]),
            (lambda b: b.update(event_tags="class:database"), ["body", "event_tags"]),
        ],
    )
    async def test_malformed_message_names_the_field(self, sqlite_hooks: Api, change: Any, loc: list[Any]) -> None:
        body = sample("zabbix-problem.json")
        change(body)
        response = await post(sqlite_hooks, "zabbix", body, token=ZABBIX_TOKEN)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == loc


class TestGeneric:
    async def test_mapped_fields(self, hooks: Api) -> None:
        body = sample("generic-shop.json")
        results = stored_ok(await post(hooks, "shop", body, token=GENERIC_TOKEN), count=2)
        checkout = await get_alert(hooks, results[0]["id"])
        assert checkout["fingerprint"] == checkout["dedup_key"] == "checkout-5xx"
        assert checkout["title"] == "Checkout answers 5xx"
        assert checkout["severity"] == "high"  # P2
        assert checkout["source"] == "shop-monitor"
        assert checkout["labels"] == {"service": "checkout", "region": "eu-west-1"}
        assert checkout["description"] == "12% of checkout requests failed in the last 5 minutes"
        search = await get_alert(hooks, results[1]["id"])
        assert search["severity"] == "warning"  # minor
        again = stored_ok(await post(hooks, "shop", body, token=GENERIC_TOKEN), count=2)
        assert [r["outcome"] for r in again] == ["duplicate", "duplicate"]
        body["events"][0]["state"] = "Resolved"
        body["events"] = body["events"][:1]
        done = stored_ok(await post(hooks, "shop", body, token=GENERIC_TOKEN))
        assert (done[0]["outcome"], done[0]["id"]) == ("resolved", results[0]["id"])

    async def test_defaults_when_fields_are_absent(self, sqlite_hooks: Api) -> None:
        body = {"events": [{"summary": "Something odd"}]}
        results = stored_ok(await post(sqlite_hooks, "shop", body, token=GENERIC_TOKEN))
        stored = await get_alert(sqlite_hooks, results[0]["id"])
        assert (stored["severity"], stored["source"], stored["dedup_key"]) == ("info", "shop-monitor", None)

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"events": [{"id": "x"}]}, ["body", "events", 0, "summary"]),
            ({"events": [{"summary": "a"}, {"summary": {"nested": 1}}]}, ["body", "events", 1, "summary"]),
            ({"events": [{"summary": "a", "tags": ["x"]}]}, ["body", "events", 0, "tags"]),
            ({"events": {"summary": "a"}}, ["body", "events"]),
            ({"events": ["text"]}, ["body", "events", 0]),
            ({"events": [{"summary": "a", "id": "k" * 300}]}, ["body", "events", 0, "id"]),
        ],
    )
    async def test_malformed_payload_names_the_path(self, sqlite_hooks: Api, body: Any, loc: list[Any]) -> None:
        response = await post(sqlite_hooks, "shop", body, token=GENERIC_TOKEN)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == loc
        assert (await list_alerts(sqlite_hooks))["total"] == 0


class TestAuth:
    async def test_missing_credentials_are_401(self, hooks: Api) -> None:
        response = await post(hooks, "am", sample("alertmanager-v4.json"))
        assert response.status_code == 401
        assert "token" in response.json()["detail"]

    async def test_wrong_token_is_401(self, sqlite_hooks: Api) -> None:
        body = sample("alertmanager-v4.json")
        assert (await post(sqlite_hooks, "am", body, token="wrong-token-0123456789abc")).status_code == 401
        assert (await post(sqlite_hooks, "am", body, token=ZABBIX_TOKEN)).status_code == 401  # another integration's
        bearer = {"Authorization": "Bearer wrong"}
        assert (await post(sqlite_hooks, "am", body, headers=bearer)).status_code == 401

    async def test_token_in_header_and_basic_auth(self, sqlite_hooks: Api) -> None:
        body = sample("alertmanager-v4.json")
        stored_ok(await post(sqlite_hooks, "am", body, headers={"X-API-Key": AM_TOKEN}), count=2)
        basic = httpx.BasicAuth("alertmanager", AM_TOKEN).auth_flow(httpx.Request("POST", "http://x"))
        header = next(basic).headers["Authorization"]
        stored_ok(await post(sqlite_hooks, "am", body, headers={"Authorization": header}), count=2)

    async def test_api_key_with_ingest_scope_is_accepted(self, sqlite_hooks: Api) -> None:
        key = await sqlite_hooks.key(Scope.INGEST, name="tester")
        body = sample("alertmanager-v4.json")
        results = stored_ok(await post(sqlite_hooks, "keys-only", body, headers={"Authorization": f"Bearer {key}"}), 2)
        stored = await get_alert(sqlite_hooks, results[0]["id"])
        assert stored["metadata"]["integration"] == "keys-only"
        read_only = await sqlite_hooks.key(Scope.READ, name="reader")
        response = await post(sqlite_hooks, "keys-only", body, headers={"Authorization": f"Bearer {read_only}"})
        assert response.status_code == 403
        assert (await post(sqlite_hooks, "keys-only", body)).status_code == 401

    async def test_unknown_integration_is_404(self, sqlite_hooks: Api) -> None:
        response = await post(sqlite_hooks, "nope", {"alerts": []}, token=AM_TOKEN)
        assert response.status_code == 404
        assert "nope" in response.json()["detail"]

    async def test_body_over_the_limit_is_413(self, sqlite_url: str, config_file: Path, clock: Clock) -> None:
        async for api in make_clocked_api(sqlite_url, clock, config_file=str(config_file), ingest_max_body_bytes=1024):
            response = await post(api, "am", {"pad": "x" * 2000}, token=AM_TOKEN)
            assert response.status_code == 413


class TestThroughTheApi:
    async def test_integration_made_through_the_api_works_and_hides_its_token(self, sqlite_hooks: Api) -> None:
        token = "made-through-api-0123456789"
        body = {"type": "generic", "auth": {"token": token}, "mapping": {"title": "msg"}}
        response = await sqlite_hooks.client.put(
            "/api/v1/config/integrations/script", json=body, headers=sqlite_hooks.auth()
        )
        assert response.status_code == 201, response.text
        assert response.json()["body"]["auth"]["token"] == "********"
        stored_ok(await post(sqlite_hooks, "script", {"msg": "backup failed"}, token=token))
        shown = await sqlite_hooks.client.get("/api/v1/config/integrations/script", headers=sqlite_hooks.auth())
        edited = shown.json()["body"]
        edited["source"] = "backup-script"
        response = await sqlite_hooks.client.put(
            "/api/v1/config/integrations/script", json=edited, headers=sqlite_hooks.auth()
        )
        assert response.status_code == 200, response.text
        results = stored_ok(await post(sqlite_hooks, "script", {"msg": "backup failed again"}, token=token))
        assert (await get_alert(sqlite_hooks, results[0]["id"]))["source"] == "backup-script"
        whole = await sqlite_hooks.client.get("/api/v1/config", headers=sqlite_hooks.auth())
        assert AM_TOKEN not in whole.text and token not in whole.text

    async def test_invalid_integration_is_refused_naming_the_field(self, sqlite_hooks: Api) -> None:
        body = {"type": "generic", "mapping": {"title": "a..b"}}
        response = await sqlite_hooks.client.put(
            "/api/v1/config/integrations/bad", json=body, headers=sqlite_hooks.auth()
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "mapping", "title"]

    async def test_write_scope_is_not_enough(self, sqlite_hooks: Api) -> None:
        key = await sqlite_hooks.key(Scope.WRITE, name="writer")
        response = await sqlite_hooks.client.put(
            "/api/v1/config/integrations/x",
            json={"type": "alertmanager"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 403
