"""POST /api/v1/receivers/{name}/test and /preview, against real webhook and SMTP servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from alert_handler.security.keys import Scope
from tests.conftest import Api, make_api
from tests.http_sink import Sink, http_sink
from tests.smtp_server import Mailbox, smtp_server

CONFIG = """
receivers:
  - name: default-log
    type: log
  - name: hook
    type: webhook
    settings: {{url: "{url}/hook?token=t0ken-s3cret"}}
  - name: broken-template
    type: webhook
    settings: {{url: "{url}/x", body_template: '{{{{ alerts[0].title | cut("x") }}}}'}}
route:
  receiver: default-log
"""


@pytest.fixture
def sink() -> Iterator[Sink]:
    with http_sink() as made:
        yield made


@pytest.fixture
def box() -> Iterator[Mailbox]:
    with smtp_server() as made:
        yield made


@pytest.fixture
async def api(sqlite_url: str, tmp_path: Path, sink: Sink, box: Mailbox) -> AsyncIterator[Api]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(url=sink.url))
    async for made in make_api(
        sqlite_url, config_file=str(config), smtp_server=box.host, smtp_port=box.port, smtp_security="none",
        smtp_to="oncall@example.org", smtp_from="alerts@example.org", public_url="http://alerts.example",
    ):  # fmt: skip
        yield made


async def test_a_test_notification_is_sent_now(api: Api, sink: Sink) -> None:
    answer = await api.client.post("/api/v1/receivers/hook/test", headers=api.auth())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"receiver": "hook", "type": "webhook", "ok": True, "retry": False, "error": ""}
    [request] = sink.received
    body = request.json()
    assert body["alerts"][0]["labels"] == {"alertname": "TestNotification", "receiver": "hook"}
    assert request.headers["X-Alert-Handler-Notification"].startswith("test:hook:")


async def test_the_email_receiver_from_the_environment_sends(api: Api, box: Mailbox) -> None:
    answer = await api.client.post("/api/v1/receivers/email/test", headers=api.auth())
    assert answer.status_code == 200, answer.text
    [mail] = box.received
    assert mail.recipients == ["oncall@example.org"]
    assert "Test notification from alert-handler" in mail.part("plain")


async def test_a_failed_test_is_a_502_with_the_channels_error(api: Api, sink: Sink) -> None:
    sink.answers.append((503, "down for maintenance"))
    answer = await api.client.post("/api/v1/receivers/hook/test", headers=api.auth())
    assert answer.status_code == 502
    found = answer.json()
    assert (found["ok"], found["retry"]) == (False, True)
    assert found["error"].startswith("HTTP 503") and "t0ken-s3cret" not in answer.text


async def test_preview_renders_without_sending(api: Api, sink: Sink, box: Mailbox) -> None:
    key = await api.key(Scope.READ)
    answer = await api.client.post("/api/v1/receivers/email/preview", headers=api.auth(key))
    assert answer.status_code == 200, answer.text
    parts = answer.json()["parts"]
    assert parts["subject"] == "[FIRING:1] alertname=TestNotification"
    assert "Test notification from alert-handler" in parts["html"] and "<html" in parts["html"]
    assert "Test notification" in parts["text"]
    hook = (await api.client.post("/api/v1/receivers/hook/preview", headers=api.auth(key))).json()["parts"]
    assert hook["method"] == "POST" and '"version":"4"' in hook["body"]
    log = (await api.client.post("/api/v1/receivers/default-log/preview", headers=api.auth(key))).json()
    assert "1 firing" in log["parts"]["text"]
    assert sink.received == [] and box.received == []


async def test_a_template_failing_at_render_is_a_422(api: Api) -> None:
    answer = await api.client.post("/api/v1/receivers/broken-template/preview", headers=api.auth())
    assert answer.status_code == 422
    assert "template" in answer.json()["detail"]
    sent = await api.client.post("/api/v1/receivers/broken-template/test", headers=api.auth())
    assert sent.status_code == 502 and sent.json()["retry"] is False


async def test_unknown_receiver_and_scopes(api: Api) -> None:
    assert (await api.client.post("/api/v1/receivers/nope/test", headers=api.auth())).status_code == 404
    assert (await api.client.post("/api/v1/receivers/nope/preview", headers=api.auth())).status_code == 404
    reader = await api.key(Scope.READ)
    assert (await api.client.post("/api/v1/receivers/hook/test", headers=api.auth(reader))).status_code == 403
    ingest = await api.key(Scope.INGEST)
    assert (await api.client.post("/api/v1/receivers/hook/preview", headers=api.auth(ingest))).status_code == 403
