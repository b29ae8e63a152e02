"""Fake PagerDuty Events API v2 and Opsgenie Alert API servers, checking requests as the
vendors document them and answering with their bodies."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.channels.fakes.fake_server import Answer, FakeVendor, Request

ROUTING_KEY = "R0ut1ngK3yS3cretR0ut1ngK3yS3cret"
GENIE_KEY = "eb243592-faa2-4ba2-a551q-1afdf565c889-s3cret"


def pd_invalid(*errors: str) -> Answer:
    return Answer.of_json(
        400, {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)}
    )


@dataclass
class FakePagerDuty(FakeVendor):
    incidents: dict[str, str] = field(default_factory=dict)  # dedup_key -> triggered | resolved

    def check(self, request: Request) -> Answer | None:
        if request.path != "/v2/enqueue":
            return Answer.of_text(404, "Not Found")
        try:
            event = request.json()
        except ValueError:
            return pd_invalid("Malformed JSON")
        if not isinstance(event, dict):
            return pd_invalid("Event object must be an object")
        if event.get("routing_key") != ROUTING_KEY:
            return pd_invalid("'routing_key' is invalid")
        action = event.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            return pd_invalid("'event_action' is missing or blank")
        if action != "trigger":
            return None if event.get("dedup_key") else pd_invalid("'dedup_key' is missing or blank")
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return pd_invalid("'payload' is missing or blank")
        problems = [
            f"'payload.{k}' is missing or blank" for k in ("summary", "source", "severity") if not payload.get(k)
        ]
        if payload.get("severity") not in (None, "critical", "error", "warning", "info"):
            problems.append("'payload.severity' is invalid (must be one of critical, error, warning, info)")
        if len(str(payload.get("summary", ""))) > 1024:
            problems.append("'payload.summary' is too long")
        if len(request.body) > 512 * 1024:
            return Answer.of_json(413, {"status": "invalid event", "message": "Request too large"})
        return pd_invalid(*problems) if problems else None

    def accept(self, request: Request) -> Answer:
        event = request.json()
        key = event.get("dedup_key") or f"generated-{len(self.delivered)}"
        self.incidents[key] = "triggered" if event["event_action"] == "trigger" else "resolved"
        return Answer.of_json(202, {"status": "success", "message": "Event processed", "dedup_key": key})


def og_error(status: int, message: str) -> Answer:
    return Answer.of_json(status, {"message": message, "took": 0.001, "requestId": "4a1b-err"})


@dataclass
class FakeOpsgenie(FakeVendor):
    open_aliases: set[str] = field(default_factory=set)
    created: list[dict[str, Any]] = field(default_factory=list)

    def check(self, request: Request) -> Answer | None:
        if request.headers.get("Authorization") != f"GenieKey {GENIE_KEY}":
            return og_error(401, "Could not authenticate")
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return og_error(400, "Request body is not processable. Please check the errors.")
        if request.path == "/v2/alerts":
            message = body.get("message")
            if not isinstance(message, str) or not message.strip():
                return og_error(422, "Message can not be empty.")
            if len(message) > 130 or len(body.get("alias", "")) > 512 or len(body.get("description", "")) > 15000:
                return og_error(422, "Request body is not processable. Please check the errors.")
            if body.get("priority") not in (None, "P1", "P2", "P3", "P4", "P5"):
                return og_error(422, "Priority should be one of [P1, P2, P3, P4, P5]")
            if len(body.get("tags", [])) > 20:
                return og_error(422, "Tags can not be more than 20")
            return None
        found = re.fullmatch(r"/v2/alerts/([^/?]+)/close\?identifierType=alias", request.path)
        if found is None:
            return og_error(404, "Not found")
        if found.group(1) not in self.open_aliases:
            return og_error(404, "Alert does not exist")
        return None

    def accept(self, request: Request) -> Answer:
        body = json.loads(request.body or b"{}")
        if request.path == "/v2/alerts":
            self.created.append(body)
            self.open_aliases.add(body.get("alias", ""))
        else:
            self.open_aliases.discard(request.path.split("/")[3])
        return Answer.of_json(202, {"result": "Request will be processed", "took": 0.107, "requestId": "43a29c5c"})
