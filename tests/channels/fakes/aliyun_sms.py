"""A fake Aliyun SMS (Dysmsapi) endpoint: checks SendSms's RPC signature by recomputing it
(independently of the channel's code), the timestamp window, nonce reuse, the required
parameters, the numbers, and the template's variables; answers as Aliyun documents
(`{"Code": "OK", ...}`, or a Code such as `SignatureDoesNotMatch` or `isv.MOBILE_NUMBER_ILLEGAL`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote

from tests.channels.fakes.fake_server import Answer, FakeVendor, Request

ACCESS_KEY_ID = "LTAI5tFakeKeyId"
ACCESS_KEY_SECRET = "aliyun-key-s3cret"
SIGN_NAME = "阿里云短信测试"
TEMPLATE_CODE = "SMS_154950909"
TEMPLATE_VARIABLES = ("status", "title")  # what the approved template has
REQUIRED = (
    "AccessKeyId", "Action", "Format", "PhoneNumbers", "SignName", "SignatureMethod", "SignatureNonce",
    "SignatureVersion", "TemplateCode", "Timestamp", "Version", "Signature",
)  # fmt: skip


def code(status: int, found: str, message: str) -> Answer:
    return Answer.of_json(status, {"Code": found, "Message": message, "RequestId": "F655A8D5-B967-440B-8683"})


def expected_signature(form: dict[str, str]) -> str:
    def enc(value: str) -> str:
        return quote(value, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")

    pairs = sorted((k, v) for k, v in form.items() if k != "Signature")
    canonical = "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs)
    to_sign = "POST&%2F&" + enc(canonical)
    digest = hmac.new((ACCESS_KEY_SECRET + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class FakeAliyunSms(FakeVendor):
    nonces: set[str] = field(default_factory=set)
    now: datetime | None = None  # the fake's clock; None: the real one

    def form(self, request: Request) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}

    def check(self, request: Request) -> Answer | None:
        form = self.form(request)
        missing = [p for p in REQUIRED if not form.get(p)]
        if missing:
            return code(400, "MissingParameter", f"The input parameter {missing[0]} that is mandatory is not supplied.")
        if form["AccessKeyId"] != ACCESS_KEY_ID:
            return code(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if form["Signature"] != expected_signature(form):
            return code(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        sent = datetime.strptime(form["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs(((self.now or datetime.now(UTC)) - sent).total_seconds()) > 900:
            return code(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        if form["SignatureNonce"] in self.nonces:
            return code(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces.add(form["SignatureNonce"])
        if form["Action"] != "SendSms" or form["Version"] != "2017-05-25":
            return code(400, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        if form["SignName"] != SIGN_NAME:
            return code(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        if form["TemplateCode"] != TEMPLATE_CODE:
            return code(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        numbers = form["PhoneNumbers"].split(",")
        if not all(re.match(r"^(\+|00)?[0-9]{6,15}$", n) for n in numbers) or len(numbers) > 1000:
            return code(200, "isv.MOBILE_NUMBER_ILLEGAL", "手机号码格式错误")
        try:
            params = json.loads(form.get("TemplateParam") or "{}")
        except ValueError:
            return code(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法,只接受字符串值")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return code(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法,只接受字符串值")
        if any(v not in params for v in TEMPLATE_VARIABLES):
            return code(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        if any(len(v) > 35 for v in params.values()):
            return code(200, "isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
        return None

    def accept(self, request: Request) -> Answer:
        return Answer.of_json(200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "X1"})
