"""docs/zabbix/alert-handler.js, run by Node.js with stand-ins for Zabbix's HttpRequest and Zabbix
objects: it sends what the zabbix integration accepts, and fails when the answer is not 2xx."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from alert_handler.ingest.sources import zabbix
from alert_handler.ingest.sources.base import Context
from tests.api.conftest import T0

SCRIPT = Path(__file__).parents[2] / "docs" / "zabbix" / "alert-handler.js"
NODE = shutil.which("node") or shutil.which("nodejs")

HARNESS = """
const fs = require('fs');
const [scriptPath, valuePath, status] = process.argv.slice(2);
const sent = {headers: [], url: null, body: null};
global.HttpRequest = function () {
  this.addHeader = (h) => sent.headers.push(h);
  this.setProxy = (p) => { sent.proxy = p; };
  this.post = (url, body) => { sent.url = url; sent.body = JSON.parse(body); return '{"count":1}'; };
  this.getStatus = () => Number(status);
};
global.Zabbix = {log: () => {}};
global.hmac = (algo, key, data) => require('crypto').createHmac(algo, key).update(data).digest('hex');
const run = new Function('value', fs.readFileSync(scriptPath, 'utf8'));
try {
  const result = run(fs.readFileSync(valuePath, 'utf8'));
  console.log(JSON.stringify({result, sent}));
} catch (error) {
  console.log(JSON.stringify({error: String(error), sent}));
}
"""

# The media type's parameters as Zabbix fills them for a problem (unresolved macros stay as text).
PARAMS = {
    "alert_handler_url": "https://alert-handler.example.com/api/v1/webhooks/zabbix",
    "token": "zabbix-token-0123456789abcdef",
    "hmac_secret": "",
    "http_proxy": "",
    "event_id": "1234567",
    "event_value": "1",
    "event_update_status": "0",
    "event_update_action": "{EVENT.UPDATE.ACTION}",
    "event_update_user": "{USER.FULLNAME}",
    "event_update_message": "{EVENT.UPDATE.MESSAGE}",
    "event_name": "MySQL: Service is down",
    "subject": "Problem: MySQL: Service is down",
    "message": "Problem started at 11:42:58 on 2026.03.01",
    "severity": "5",
    "host": "db-01",
    "host_name": "Database 01",
    "host_ip": "10.0.0.21",
    "trigger_id": "23456",
    "trigger_description": "",
    "item_value": "Down (0)",
    "event_time": "2026.03.01 11:42:58",
    "event_tags": '[{"tag":"component","value":"mysql"},{"tag":"scope","value":"availability"}]',
    "url": "https://zabbix.example.com/tr_events.php?triggerid=23456&eventid=1234567",
}

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (runs the Zabbix script)")


def run_script(tmp_path: Path, params: dict[str, str], status: int = 200) -> dict[str, Any]:
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    value = tmp_path / "value.json"
    value.write_text(json.dumps(params))
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(harness), str(SCRIPT), str(value), str(status)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_script_posts_what_the_integration_reads(tmp_path: Path) -> None:
    out = run_script(tmp_path, PARAMS)
    assert out["result"] == "OK"
    sent = out["sent"]
    assert sent["url"] == PARAMS["alert_handler_url"]
    assert f"Authorization: Bearer {PARAMS['token']}" in sent["headers"]
    assert sent["body"]["event_update_action"] == ""  # the unresolved macro
    assert sent["body"]["event_tags"] == [
        {"tag": "component", "value": "mysql"},
        {"tag": "scope", "value": "availability"},
    ]
    ctx = Context(integration="zabbix", tenant="default", actor="integration:zabbix", now=T0, identity_keys=[])
    [alert] = zabbix.normalize(json.dumps(sent["body"]).encode(), ctx).alerts
    assert (alert.title, alert.severity.value, alert.resolved) == ("MySQL: Service is down", "critical", False)
    assert alert.labels == {"component": "mysql", "scope": "availability", "host": "db-01"}
    assert alert.fingerprint == "zabbix:zabbix:1234567"


def test_the_script_signs_with_hmac_when_set(tmp_path: Path) -> None:
    out = run_script(tmp_path, {**PARAMS, "hmac_secret": "hmac-secret-0123456789"})
    signature = next(h for h in out["sent"]["headers"] if h.startswith("X-Signature: "))
    assert len(signature.removeprefix("X-Signature: ")) == 64


def test_the_script_fails_on_an_error_answer(tmp_path: Path) -> None:
    out = run_script(tmp_path, PARAMS, status=401)
    assert out["error"].startswith("Sending failed: alert-handler answered 401")


def test_the_script_needs_a_url(tmp_path: Path) -> None:
    out = run_script(tmp_path, {**PARAMS, "alert_handler_url": ""})
    assert "alert_handler_url" in out["error"]
