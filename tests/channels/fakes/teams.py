"""A fake Microsoft Teams Workflows webhook ("When a Teams webhook request is received"): the
signed trigger URL, the message envelope, an Adaptive Card it can render, the 28 KB limit.

It answers as Workflows do: 202 with an empty body when it takes the request; 401 for a missing
or wrong `sig`, 404 for an unknown workflow, 400 `InvalidRequestContent` for a body it cannot
use, each with Azure's `{"error": {"code", "message"}}` body. `shown` keeps what Teams would
render per card: ("markdown", text) for TextBlocks and facts, ("text", text) for TextRuns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.channels.fakes.fake_server import Answer, FakeVendor, Request

WORKFLOW = "0a1b2c3d4e5f"
SIG = "sIg-s3cret-AbCdEfGhIjKlMnOp"
PATH = f"/workflows/{WORKFLOW}/triggers/manual/paths/invoke"
QUERY = f"api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 28 * 1024
ELEMENTS = {"TextBlock", "RichTextBlock", "Container", "ColumnSet", "Column", "FactSet", "Image", "ActionSet"}


def azure_error(status: int, code: str, message: str) -> Answer:
    return Answer.of_json(status, {"error": {"code": code, "message": message}})


def invalid(message: str) -> Answer:
    return azure_error(400, "InvalidRequestContent", message)


def legacy_failure(status: int) -> Answer:
    """How the retired Office 365 connectors reported a failure: inside an HTTP 200."""
    text = (
        "Webhook message delivery failed with error: Microsoft Teams endpoint returned"
        f" HTTP error {status} with ContextId tcid=0,server=msgapi,cv=x.0.."
    )
    return Answer.of_text(200, text)


class CardError(ValueError):
    pass


def render(card: Any) -> list[tuple[str, str]]:
    """What Teams shows of an Adaptive Card, or CardError naming what it cannot render."""
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        raise CardError("Property 'type' must be 'AdaptiveCard'")
    if not isinstance(card.get("version"), str):
        raise CardError("Property 'version' is required")
    shown: list[tuple[str, str]] = []
    for element in _list(card.get("body", []), "body"):
        _element(element, shown)
    for action in _list(card.get("actions", []), "actions"):
        _action(action)
    return shown


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise CardError(f"'{where}' must be an array")
    return value


def _element(element: Any, shown: list[tuple[str, str]]) -> None:
    kind = element.get("type") if isinstance(element, dict) else None
    if kind not in ELEMENTS:
        raise CardError(f"Unknown element type {kind!r}")
    if kind == "TextBlock":
        shown.append(("markdown", _text(element, "TextBlock")))
    elif kind == "RichTextBlock":
        for inline in _list(element.get("inlines"), "inlines"):
            if isinstance(inline, str):
                shown.append(("text", inline))
                continue
            if not isinstance(inline, dict) or inline.get("type") != "TextRun":
                raise CardError("RichTextBlock inlines must be TextRuns")
            shown.append(("text", _text(inline, "TextRun")))
            if "selectAction" in inline:
                _action(inline["selectAction"])
    elif kind == "FactSet":
        for fact in _list(element.get("facts"), "facts"):
            shown += [("markdown", str(fact.get("title", ""))), ("markdown", str(fact.get("value", "")))]
    elif kind in ("Container", "Column"):
        for item in _list(element.get("items"), "items"):
            _element(item, shown)
    elif kind == "ColumnSet":
        for column in _list(element.get("columns", []), "columns"):
            _element(column, shown)


def _text(element: dict[str, Any], kind: str) -> str:
    text = element.get("text")
    if not isinstance(text, str):
        raise CardError(f"Property 'text' of a {kind} is required")
    return text


def _action(action: Any) -> None:
    if not isinstance(action, dict) or action.get("type") != "Action.OpenUrl":
        raise CardError("only Action.OpenUrl is expected")
    if urlsplit(str(action.get("url", ""))).scheme not in ("http", "https"):
        raise CardError("Action.OpenUrl needs an absolute http(s) url")


@dataclass
class FakeTeams(FakeVendor):
    shown: list[list[tuple[str, str]]] = field(default_factory=list)

    @property
    def workflow_url(self) -> str:
        return f"{self.url}{PATH}?{QUERY}"

    def check(self, request: Request) -> Answer | None:
        parts = urlsplit(request.path)
        if not parts.path.startswith("/workflows/"):
            return azure_error(404, "NotFound", "The requested resource was not found.")
        if parts.path != PATH:
            return azure_error(404, "WorkflowNotFound", "The workflow could not be found.")
        sig = parse_qs(parts.query).get("sig")
        if not sig:
            return azure_error(401, "DirectApiAuthorizationRequired", "The request must be authenticated.")
        if sig != [SIG]:
            return azure_error(401, "DirectApiInvalidAuthorizationSignature", "The provided signature is not valid.")
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return invalid("The request content type must be 'application/json'.")
        if len(request.body) > MAX_BYTES:
            return invalid(f"The message is {len(request.body)} bytes; Teams takes at most 28 KB.")
        return self._check_message(request.body)

    def _check_message(self, raw: bytes) -> Answer | None:
        try:
            body = json.loads(raw)
        except ValueError:
            return invalid("The request content is not valid JSON.")
        attachments = body.get("attachments") if isinstance(body, dict) else None
        if body.get("type") != "message" or not isinstance(attachments, list) or not attachments:
            return invalid("Expected a message with attachments.")
        for attachment in attachments:
            if attachment.get("contentType") != CARD_TYPE:
                return invalid("Attachment contentType must be an adaptive card.")
            try:
                render(attachment.get("content"))
            except CardError as exc:
                return invalid(f"The specified Teams adaptive card request is missing or invalid: {exc}")
        return None

    def accept(self, request: Request) -> Answer:
        self.shown.append(render(request.json()["attachments"][0]["content"]))
        return Answer(202)
