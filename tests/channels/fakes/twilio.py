"""A fake Twilio Messages resource: basic auth with the account's SID and token, a form with
To, From or MessagingServiceSid, and Body, answered as Twilio documents (201 and the message
resource; errors as `{"code", "message", "more_info", "status"}`)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from tests.channels.fakes.fake_server import Answer, FakeVendor, Request

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-t0ken-s3cret"
FROM = "+15005550006"
INVALID_NUMBER = "+15005550001"  # Twilio's magic test number for "invalid"


def error(status: int, code: int, message: str) -> Answer:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Answer.of_json(status, body)


@dataclass
class FakeTwilio(FakeVendor):
    def form(self, request: Request) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}

    def check(self, request: Request) -> Answer | None:
        if request.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
            return error(404, 20404, "The requested resource was not found")
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return error(401, 20003, "Authentication Error - invalid username")
        if not request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return error(400, 21601, "Invalid request body")
        form = self.form(request)
        if not form.get("To") or not re.match(r"^\+[1-9][0-9]{1,14}$", form["To"]) or form["To"] == INVALID_NUMBER:
            return error(400, 21211, f"The 'To' number {form.get('To', '')} is not a valid phone number.")
        if ("From" in form) == ("MessagingServiceSid" in form):
            return error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        if "From" in form and form["From"] != FROM:
            return error(400, 21606, "The From phone number is not a valid, SMS-capable inbound phone number")
        if not form.get("Body"):
            return error(400, 21602, "Message body is required.")
        if len(form["Body"]) > 1600:
            return error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        return None

    def accept(self, request: Request) -> Answer:
        form = self.form(request)
        resource: dict[str, Any] = {
            "sid": f"SM{len(self.delivered):032x}", "account_sid": ACCOUNT_SID, "to": form["To"],
            "from": form.get("From"), "body": form["Body"], "status": "queued", "num_segments": "1",
        }  # fmt: skip
        return Answer.of_json(201, resource)
