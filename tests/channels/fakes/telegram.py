"""A fake Telegram Bot API (sendMessage only), checking requests as Telegram does: the token in
the path, chat_id, the HTML of `parse_mode: HTML` (supported tags, entities, nesting), the
4,096-character limit after entity parsing, forum topics and replies. It answers Telegram's
bodies: `{"ok": true, "result": {"message_id": ...}}` or `{"ok": false, "error_code",
"description", "parameters"?}` with the same HTTP status.
"""

from __future__ import annotations

import html
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from tests.channels.fakes.fake_server import Answer, FakeVendor, Request

TOKEN = "123456789:AAtest-t0ken_s3cret"
SUPERGROUP = -1001234567890
CHATS: dict[int | str, dict[str, Any]] = {
    SUPERGROUP: {"type": "supergroup", "title": "ops", "topics": {7}},
    "@alerts_channel": {"type": "channel", "title": "alerts"},
}
BLOCKED, KICKED, MIGRATED = 1111, -1009999, -555
TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "span",
    "tg-spoiler",
}
ENTITIES = {"lt", "gt", "amp", "quot"}
_TOKENS = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>|&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);|[^<&]+|[<&]")


def parse_html(text: str) -> tuple[str, str | None]:
    """What Telegram shows for `text` in HTML mode, or why it refuses: (plain text, error)."""
    shown, open_tags, offset = [], [], 0
    for match in _TOKENS.finditer(text):
        closing, tag, _attributes, entity = match.group(1), match.group(2), match.group(3), match.group(4)
        piece = match.group(0)
        if tag is not None:
            if tag.lower() not in TAGS:
                return "", f'Unsupported start tag "{tag}" at byte offset {offset}'
            if closing and (not open_tags or open_tags.pop() != tag.lower()):
                return "", f'Unmatched end tag at byte offset {offset}, expected "</{tag}>"'
            if not closing:
                open_tags.append(tag.lower())
        elif entity is not None:
            if not entity.startswith("#") and entity not in ENTITIES:
                return "", f'Unsupported HTML entity "&{entity};" at byte offset {offset}'
            shown.append(html.unescape(piece))
        elif piece in ("<", "&"):
            return "", f"Unexpected character {piece!r} at byte offset {offset}"
        else:
            shown.append(piece)
        offset += len(piece.encode())
    if open_tags:
        return "", f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"'
    return "".join(shown), None


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def refusal(code: int, description: str, **parameters: Any) -> Answer:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Answer.of_json(code, body)


def too_many_requests(retry_after: int) -> Answer:
    return refusal(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


@dataclass
class FakeTelegram(FakeVendor):
    sent: list[dict[str, Any]] = field(default_factory=list)  # accepted requests, with "shown" text

    @property
    def api_url(self) -> str:
        return self.url

    def check(self, request: Request) -> Answer | None:
        prefix, _, method = request.path[1:].partition("/")
        if not re.fullmatch(r"bot[0-9]+:[A-Za-z0-9_-]+", prefix) or method != "sendMessage":
            return refusal(404, "Not Found")
        if prefix != f"bot{TOKEN}":
            return refusal(401, "Unauthorized")
        try:
            body = json.loads(request.body) if _is_json(request) else {}
        except ValueError:
            return refusal(400, "Bad Request: can't parse JSON object")
        return self._check_message(body if isinstance(body, dict) else {})

    def _check_message(self, body: dict[str, Any]) -> Answer | None:
        chat = body.get("chat_id")
        if chat in (None, ""):
            return refusal(400, "Bad Request: chat_id is empty")
        if chat == BLOCKED:
            return refusal(403, "Forbidden: bot was blocked by the user")
        if chat == KICKED:
            return refusal(403, "Forbidden: bot was kicked from the supergroup chat")
        if chat == MIGRATED:
            return refusal(
                400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=SUPERGROUP
            )
        if chat not in CHATS:
            return refusal(400, "Bad Request: chat not found")
        return self._check_text(body) or self._check_placement(body, CHATS[chat])

    def _check_text(self, body: dict[str, Any]) -> Answer | None:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return refusal(400, "Bad Request: message text is empty")
        if body.get("parse_mode") != "HTML":
            return refusal(400, "Bad Request: this fake expects parse_mode HTML")
        shown, problem = parse_html(text)
        if problem:
            return refusal(400, f"Bad Request: can't parse entities: {problem}")
        if units(shown) > 4096:
            return refusal(400, "Bad Request: message is too long")
        if not isinstance(body.get("link_preview_options", {}), dict):
            return refusal(400, "Bad Request: can't parse link preview options JSON object")
        return None

    def _check_placement(self, body: dict[str, Any], chat: dict[str, Any]) -> Answer | None:
        topic = body.get("message_thread_id")
        if topic is not None and topic not in chat.get("topics", ()):
            return refusal(400, "Bad Request: message thread not found")
        reply = body.get("reply_parameters")
        if reply is not None:
            if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
                return refusal(400, "Bad Request: can't parse reply parameters JSON object")
            known = any(s["message_id"] == reply["message_id"] and s["chat_id"] == body["chat_id"] for s in self.sent)
            if not known and reply.get("allow_sending_without_reply") is not True:
                return refusal(400, "Bad Request: message to be replied not found")
        return None

    def accept(self, request: Request) -> Answer:
        body = request.json()
        shown, _ = parse_html(body["text"])
        message_id = 42 + len(self.sent)
        self.sent.append({**body, "message_id": message_id, "shown": shown})
        chat = {"id": body["chat_id"], **{k: v for k, v in CHATS[body["chat_id"]].items() if k != "topics"}}
        result = {
            "message_id": message_id,
            "from": {"id": 123456789, "is_bot": True, "first_name": "alert-handler", "username": "ah_bot"},
            "chat": chat,
            "date": int(time.time()),
            "text": shown,
        }
        return Answer.of_json(200, {"ok": True, "result": result})


def _is_json(request: Request) -> bool:
    return request.headers.get("Content-Type", "").split(";")[0].strip() == "application/json"
