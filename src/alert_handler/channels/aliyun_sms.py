"""The `aliyun_sms` channel: Alibaba Cloud SMS (阿里云短信服务) `SendSms`, one request for every
number, with an approved template (`template_code`) and its parameters.

An RPC-style call (version 2017-05-25), signed as Aliyun documents it: the parameters sorted
and percent-encoded (RFC 3986: space %20, `*` %2A, `~` kept), "POST&%2F&" + that string
encoded again, HMAC-SHA1 keyed by the AccessKey secret + "&", base64. Each template parameter
is a template of our own (plain text) rendered per message and cut to Aliyun's limit for a
variable (35 characters), e.g. `{"status": "{{ status }}", "title": "{{ alerts[0].title }}"}`.

The answer is JSON `{"Code": "OK", "Message": "OK", "BizId", "RequestId"}`; any other `Code`
failed, whatever the HTTP status. Retried: flow control (`isv.BUSINESS_LIMIT_CONTROL`,
`Throttling*`, after a minute), `ServiceUnavailable`, `InternalError`, `isp.SYSTEM_ERROR`, 5xx,
timeouts; not: a bad number, template, sign name, signature or key, an empty balance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from pydantic import Field, SecretStr, field_validator

from alert_handler.channels import http
from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.sms import SmsSettings, text
from alert_handler.channels.templated import Renderer, check_inline
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates

API_VERSION = "2017-05-25"
PARAM_MAX_CHARS = 35  # Aliyun's limit for one variable of a notification template
RETRIED = (
    "isv.BUSINESS_LIMIT_CONTROL",
    "ServiceUnavailable",
    "InternalError",
    "isp.SYSTEM_ERROR",
    "SignatureNonceUsed",
)
_NUMBER = r"^(\+|00)?[0-9]{6,15}$"


class AliyunSmsSettings(SmsSettings):
    access_key_id: str = Field(min_length=1, max_length=128)
    access_key_secret: SecretStr = Field(min_length=1)
    sign_name: str = Field(min_length=1, max_length=64, description="the approved signature (签名名称)")
    template_code: str = Field(pattern=r"^SMS_[0-9]+$", description="the approved template (SMS_123456789)")
    template_params: dict[str, str] = Field(
        default_factory=dict, description="template variable -> a template of its value (plain text)"
    )
    phone_numbers: list[str] = Field(min_length=1, max_length=1000, description="mainland 11 digits or 00/+ prefixed")
    endpoint: str = Field("https://dysmsapi.aliyuncs.com", pattern=r"^https?://[^/\s]+/?$")
    region_id: str = Field("cn-hangzhou", pattern=r"^[a-z0-9-]+$")
    param_max_chars: int = Field(PARAM_MAX_CHARS, ge=1, le=500)

    @field_validator("template_params")
    @classmethod
    def _params_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for name, source in value.items():
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"{name!r} is not a template variable name")
            check_inline(source, "plain")
        return value

    @field_validator("phone_numbers")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        bad = [n for n in value if not re.match(_NUMBER, n)]
        if bad:
            raise ValueError(f"not phone numbers: {', '.join(bad[:5])}")
        return value


def percent(value: str) -> str:
    """Aliyun's percent-encoding (RFC 3986 unreserved characters kept)."""
    return quote(value, safe="~")


def signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent('/')}&{percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsChannel:
    name = "aliyun_sms"
    Settings = AliyunSmsSettings

    def __init__(
        self,
        settings: AliyunSmsSettings,
        client: httpx.AsyncClient | None = None,
        templates: Templates | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self._renderer = Renderer(settings, templates)
        self._client = client or http.client(settings.timeout_seconds)
        self._secret = settings.access_key_secret.get_secret_value()
        self._clock = clock

    def template_param(self, message: Message) -> dict[str, str]:
        """The template's variables for this message, each cut to Aliyun's limit."""
        context = self._renderer.context(message)
        values = {}
        for name, source in self.settings.template_params.items():
            value = " ".join(self._renderer.inline(source, "plain", context).split())
            values[name] = http.cut_chars(value, self.settings.param_max_chars)
        return values

    def preview(self, message: Message) -> dict[str, str]:
        return {
            "phone_numbers": ",".join(self.settings.phone_numbers),
            "template_code": self.settings.template_code,
            "template_param": orjson.dumps(self.template_param(message)).decode(),
            "text": text(self._renderer, message, self.settings.max_chars),
        }

    def request(self, message: Message) -> dict[str, str]:
        """The signed form of the SendSms call."""
        settings = self.settings
        params = {
            "AccessKeyId": settings.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": message.key[:256],
            "PhoneNumbers": ",".join(settings.phone_numbers),
            "RegionId": settings.region_id,
            "SignName": settings.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": settings.template_code,
            "TemplateParam": orjson.dumps(self.template_param(message)).decode(),
            "Timestamp": self._clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        return {**params, "Signature": signature(params, self._secret)}

    async def send(self, message: Message) -> Delivery:
        try:
            form = self.request(message)
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        url = self.settings.endpoint.rstrip("/") + "/"
        answer = await http.exchange(self._client, "POST", url, data=form)
        return answer if isinstance(answer, Delivery) else _result(answer)

    async def close(self) -> None:
        await self._client.aclose()


def _result(answer: httpx.Response) -> Delivery:
    body: dict[str, Any] = http.json_body(answer) or {}
    code = str(body.get("Code", ""))
    if code == "OK" and answer.is_success:
        return Delivery.sent({"biz_id": str(body.get("BizId", ""))})
    if not code:
        return (
            http.refused(answer)
            if not answer.is_success
            else Delivery.failed(f"Aliyun answered HTTP {answer.status_code} without a Code", retry=False)
        )
    error = f"Aliyun SMS {code}: {str(body.get('Message', ''))[:200]}"
    if code == "isv.BUSINESS_LIMIT_CONTROL" or code.startswith("Throttling"):
        return Delivery.failed(error, retry=True, retry_after=http.NEXT_MINUTE)
    return Delivery.failed(error, retry=code in RETRIED or answer.status_code >= 500)
