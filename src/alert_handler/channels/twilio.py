"""The `twilio` channel: an SMS to each number of `to` through Twilio's Messages resource.

POST {api_url}/2010-04-01/Accounts/{account_sid}/Messages.json, form-encoded `To`, `From` (or
`MessagingServiceSid`) and `Body`, with HTTP basic auth (account SID, auth token). Twilio
answers 201 with the message resource (`"status": "queued"`); an error is JSON
`{"code": 21211, "message": ..., "more_info": ..., "status": 400}`. Retried: 429 (code 20429,
after its Retry-After), 5xx, timeouts and connection errors; not: other 4xx (an invalid number,
refused credentials, a From the account does not own).

A retry texts only the numbers that did not get the message yet (see `fanout.Settled`). When
some numbers fail for good (an invalid number), the message ends failed with their errors,
after the others got it.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from pydantic import Field, SecretStr, model_validator

from alert_handler.channels import http
from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.fanout import Settled
from alert_handler.channels.sms import E164, SmsSettings, text
from alert_handler.channels.templated import Renderer
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates

_SENDER = r"^(\+[1-9][0-9]{1,14}|[0-9]{5,6}|[A-Za-z0-9 ]*[A-Za-z][A-Za-z0-9 ]*)$"


class TwilioSettings(SmsSettings):
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$", description="the account SID (AC...)")
    auth_token: SecretStr = Field(min_length=1)
    sender: str | None = Field(
        None, alias="from", max_length=16, pattern=_SENDER, description="an E.164 number, short code or sender id"
    )
    messaging_service_sid: str | None = Field(None, pattern=r"^MG[0-9a-fA-F]{32}$")
    to: list[str] = Field(min_length=1, max_length=100, description="E.164 numbers (+8613800138000)")
    api_url: str = Field("https://api.twilio.com", pattern=r"^https?://[^/\s]+(/[^\s]*)?$")
    max_chars: int = Field(320, ge=20, le=1600, description="Twilio takes at most 1,600 characters")

    model_config = SmsSettings.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _sender_and_numbers(self) -> TwilioSettings:
        if (self.sender is None) == (self.messaging_service_sid is None):
            raise ValueError("set exactly one of `from` and `messaging_service_sid`")
        bad = [n for n in self.to if not re.match(E164, n)]
        if bad:
            raise ValueError(f"`to` must hold E.164 numbers like +14155550100; not: {', '.join(bad[:5])}")
        return self


class TwilioChannel:
    name = "twilio"
    Settings = TwilioSettings

    def __init__(
        self, settings: TwilioSettings, client: httpx.AsyncClient | None = None, templates: Templates | None = None
    ) -> None:
        self.settings = settings
        self._renderer = Renderer(settings, templates)
        self._client = client or http.client(settings.timeout_seconds)
        self._auth = (settings.account_sid, settings.auth_token.get_secret_value())
        self._url = f"{settings.api_url.rstrip('/')}/2010-04-01/Accounts/{settings.account_sid}/Messages.json"
        self._texted: Settled[str] = Settled()  # a number that failed for good is tried again

    def preview(self, message: Message) -> dict[str, str]:
        return {"to": ", ".join(self.settings.to), "text": text(self._renderer, message, self.settings.max_chars)}

    async def send(self, message: Message) -> Delivery:
        try:
            body = text(self._renderer, message, self.settings.max_chars)
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        failures: list[tuple[str, Delivery]] = []
        for number in self._texted.pending(message.key, self.settings.to):
            result = await self._send_one(number, body)
            if result.ok:
                self._texted.settle(message.key, number)
            else:
                failures.append((number, result))
        if not failures:
            return Delivery.sent()
        error = "; ".join(f"{number}: {result.error}" for number, result in failures[:5])
        waits = [r.retry_after for _, r in failures if r.retry_after is not None]
        return Delivery.failed(
            f"{len(failures)} of {len(self.settings.to)} not texted: {error}",
            retry=any(r.retry for _, r in failures),
            retry_after=max(waits) if waits else None,
        )

    async def _send_one(self, number: str, body: str) -> Delivery:
        form: dict[str, Any] = {"To": number, "Body": body}
        if self.settings.messaging_service_sid:
            form["MessagingServiceSid"] = self.settings.messaging_service_sid
        else:
            form["From"] = self.settings.sender
        answer = await http.exchange(self._client, "POST", self._url, data=form, auth=self._auth)
        if isinstance(answer, Delivery):
            return answer
        if answer.is_success:
            found = http.json_body(answer)
            if found is None or not found.get("sid"):
                return Delivery.failed(f"Twilio answered HTTP {answer.status_code} without a message sid", retry=False)
            return Delivery.sent()
        return _refusal(answer)

    async def close(self) -> None:
        await self._client.aclose()


def _refusal(answer: httpx.Response) -> Delivery:
    found = http.json_body(answer) or {}
    code, text_ = found.get("code"), str(found.get("message", ""))[:200]
    what = f"Twilio error {code}: {text_}" if code else ""
    return http.refused(answer, what, wait_unless_told=http.NEXT_MINUTE)
