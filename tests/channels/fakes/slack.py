"""A fake Slack: incoming webhooks (`/services/T/B/<secret>`) and the Web API's chat.postMessage,
checking requests and answering as Slack documents.

Webhook: 200 `ok`; 400 `invalid_payload` / `no_text` / `invalid_blocks`, 403 `invalid_token`,
404 `no_service`, 410 `channel_is_archived` (plain-text bodies).
chat.postMessage: HTTP 200 with `{"ok": true, "channel", "ts", "message"}` or
`{"ok": false, "error": ...}` (`not_authed`, `invalid_auth`, `channel_not_found`,
`not_in_channel`, `invalid_blocks`, `msg_too_long`, `no_text`, `invalid_json`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.channels.fakes.fake_server import Answer, FakeVendor, Request

WEBHOOK_PATH = "/services/T0001/B0001/hook-s3cret-0123456789"
BOT_TOKEN = "xoxb-1111-2222-t0ken-s3cret"
CHANNEL_ID = "C0ALERTS"
CHANNELS = {"C0ALERTS": True, "#alerts": True, "C0NOTIN": False}  # channel -> the bot is a member
ARCHIVED_PATH = "/services/T0001/B0002/archived-s3cret"
ERROR_BODIES = {400: "invalid_payload", 403: "invalid_token", 404: "no_service", 410: "channel_is_archived"}


def block_problem(blocks: Any) -> str | None:
    """What Slack's Block Kit validation refuses in `blocks` (a subset), or None."""
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return "blocks must be a list of 1 to 50 blocks"
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "header":
            text = block.get("text", {})
            if text.get("type") != "plain_text" or not 0 < len(text.get("text", "")) <= 150:
                return f"blocks[{i}]: a header needs plain_text of 1 to 150 characters"
        elif kind == "section":
            if not _text_ok(block.get("text"), 3000):
                return f"blocks[{i}]: section text must be 1 to 3000 characters"
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= 10:
                return f"blocks[{i}]: a context needs 1 to 10 elements"
            if not all(_text_ok(e, 3000) for e in elements):
                return f"blocks[{i}]: a context element must be 1 to 3000 characters"
        elif kind != "divider":
            return f"blocks[{i}]: unknown block type {kind!r}"
    return None


def _text_ok(text: Any, limit: int) -> bool:
    return (
        isinstance(text, dict)
        and text.get("type") in ("mrkdwn", "plain_text")
        and isinstance(text.get("text"), str)
        and 0 < len(text["text"]) <= limit
    )


@dataclass
class FakeSlack(FakeVendor):
    posted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return self.url + WEBHOOK_PATH

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    def check(self, request: Request) -> Answer | None:
        if request.path.startswith("/services/"):
            return self._check_webhook(request)
        if request.path == "/api/chat.postMessage":
            return self._check_api(request)
        return Answer.of_text(404, "not found")

    def _check_webhook(self, request: Request) -> Answer | None:
        if request.path == ARCHIVED_PATH:
            return Answer.of_text(410, "channel_is_archived")
        if not request.path.startswith("/services/T0001/"):
            return Answer.of_text(404, "no_service")
        if request.path != WEBHOOK_PATH:
            return Answer.of_text(403, "invalid_token")
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return Answer.of_text(400, "invalid_payload")
        try:
            body = json.loads(request.body)
        except ValueError:
            return Answer.of_text(400, "invalid_payload")
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return Answer.of_text(400, "no_text")
        if "blocks" in body and block_problem(body["blocks"]):
            return Answer.of_text(400, "invalid_blocks")
        return None

    def _check_api(self, request: Request) -> Answer | None:
        auth = request.headers.get("Authorization", "")
        if not auth:
            return _api_error("not_authed")
        if auth != f"Bearer {BOT_TOKEN}":
            return _api_error("invalid_auth")
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return _api_error("invalid_form_data")
        try:
            body = json.loads(request.body)
        except ValueError:
            return _api_error("invalid_json")
        if not isinstance(body, dict):
            return _api_error("json_not_object")
        return _message_problem(body)

    def accept(self, request: Request) -> Answer:
        if request.path.startswith("/services/"):
            return Answer(200, b"ok", {"Content-Type": "text/html"})
        body = request.json()
        ts = f"1712000000.{len(self.posted) + 1:06d}"
        self.posted.append({**body, "ts": ts})
        message = {"type": "message", "text": body.get("text", ""), "ts": ts, "bot_id": "B0BOT"}
        answer = {"ok": True, "channel": CHANNEL_ID, "ts": ts, "message": message}
        if "charset" not in request.headers.get("Content-Type", ""):
            answer["warning"] = "missing_charset"
        return Answer.of_json(200, answer)


def _message_problem(body: dict[str, Any]) -> Answer | None:
    channel = body.get("channel")
    if channel not in CHANNELS:
        return _api_error("channel_not_found")
    if not CHANNELS[channel]:
        return _api_error("not_in_channel")
    if not (body.get("text") or body.get("blocks")):
        return _api_error("no_text")
    if len(body.get("text", "")) > 40_000:
        return _api_error("msg_too_long")
    if "blocks" in body and block_problem(body["blocks"]):
        return _api_error("invalid_blocks")
    if "thread_ts" in body and not isinstance(body["thread_ts"], str):
        return _api_error("invalid_arguments")
    return None


def _api_error(error: str) -> Answer:
    return Answer.of_json(200, {"ok": False, "error": error})


def webhook_refusal(status: int, **headers: str) -> Answer:
    return Answer.of_text(status, ERROR_BODIES.get(status, "rollup_error"), **headers)


def api_refusal(error: str, status: int = 200, **headers: str) -> Answer:
    return Answer.of_json(status, {"ok": False, "error": error}, **headers)
