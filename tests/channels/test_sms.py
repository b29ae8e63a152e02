"""The SMS channels against fake Twilio and Aliyun SMS servers that check requests as the
vendors do (basic auth; Aliyun's RPC signature recomputed independently) and answer with the
vendors' documented bodies."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from alert_handler.channels.aliyun_sms import AliyunSmsChannel, AliyunSmsSettings, signature
from alert_handler.channels.base import Channel
from alert_handler.channels.registry import check_settings
from alert_handler.channels.twilio import TwilioChannel, TwilioSettings
from tests.channels.contract import ChannelCase, ChannelContract
from tests.channels.factory import HOSTILE_TITLE, message
from tests.channels.fakes import aliyun_sms as aliyun
from tests.channels.fakes import twilio
from tests.channels.fakes.fake_server import Answer, serving
from tests.conftest import free_port

OTHER = "+8613800138000"


@pytest.fixture
def fake_twilio() -> Iterator[twilio.FakeTwilio]:
    with serving(twilio.FakeTwilio()) as fake:
        yield fake


@pytest.fixture
def fake_aliyun() -> Iterator[aliyun.FakeAliyunSms]:
    with serving(aliyun.FakeAliyunSms()) as fake:
        yield fake


def twilio_channel(api_url: str, **extra: Any) -> TwilioChannel:
    settings = {
        "account_sid": twilio.ACCOUNT_SID, "auth_token": twilio.AUTH_TOKEN, "from": twilio.FROM,
        "to": ["+14155550100"], "api_url": api_url, **extra,
    }  # fmt: skip
    return TwilioChannel(TwilioSettings.model_validate(settings))


def aliyun_channel(endpoint: str, **extra: Any) -> AliyunSmsChannel:
    settings = {
        "access_key_id": aliyun.ACCESS_KEY_ID, "access_key_secret": aliyun.ACCESS_KEY_SECRET,
        "sign_name": aliyun.SIGN_NAME, "template_code": aliyun.TEMPLATE_CODE, "phone_numbers": ["13800138000"],
        "template_params": {"status": "{{ status }}", "title": "{{ alerts[0].title }}"}, "endpoint": endpoint,
        **extra,
    }  # fmt: skip
    return AliyunSmsChannel(AliyunSmsSettings.model_validate(settings))


def form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


class TestTwilioContract(ChannelContract):
    @pytest.fixture
    def case(self, fake_twilio: twilio.FakeTwilio) -> ChannelCase:
        def slow() -> Channel:
            fake_twilio.delay = 1.0
            return twilio_channel(fake_twilio.url, timeout_seconds=0.2)

        return ChannelCase(
            secrets=(twilio.AUTH_TOKEN,),
            max_bytes=4 * 1600 + 200,
            channel=lambda: twilio_channel(fake_twilio.url),
            unreachable=lambda: twilio_channel(f"http://127.0.0.1:{free_port()}"),
            slow=slow,
            fail_next=lambda temporary: fake_twilio.answers.append(
                twilio.error(503, 20503, "Service unavailable") if temporary else twilio.error(400, 21211, "bad To")
            ),
            delivered=lambda: [r.body for r in fake_twilio.delivered],
            text=lambda body: form(body)["Body"],
            settle=1.0,
        )


class TestAliyunContract(ChannelContract):
    @pytest.fixture
    def case(self, fake_aliyun: aliyun.FakeAliyunSms) -> ChannelCase:
        def slow() -> Channel:
            fake_aliyun.delay = 1.0
            return aliyun_channel(fake_aliyun.url, timeout_seconds=0.2)

        return ChannelCase(
            secrets=(aliyun.ACCESS_KEY_SECRET,),
            max_bytes=4096,
            channel=lambda: aliyun_channel(fake_aliyun.url),
            unreachable=lambda: aliyun_channel(f"http://127.0.0.1:{free_port()}"),
            slow=slow,
            fail_next=lambda temporary: fake_aliyun.answers.append(
                aliyun.code(200, "isv.BUSINESS_LIMIT_CONTROL" if temporary else "isv.MOBILE_NUMBER_ILLEGAL", "x")
            ),
            delivered=lambda: [r.body for r in fake_aliyun.delivered],
            text=lambda body: form(body)["TemplateParam"],
            settle=1.0,
        )


# --- Twilio


async def test_twilio_texts_each_number_with_the_template(fake_twilio: twilio.FakeTwilio) -> None:
    channel = twilio_channel(fake_twilio.url, to=["+14155550100", OTHER])
    assert (await channel.send(message())).ok
    sent = [form(r.body) for r in fake_twilio.delivered]
    assert [s["To"] for s in sent] == ["+14155550100", OTHER]
    assert sent[0]["From"] == twilio.FROM
    assert sent[0]["Body"].startswith("[FIRING:2] CRITICAL Disk 1 full @h1; CRITICAL Disk 2 full @h2")


async def test_twilio_a_retry_texts_only_who_did_not_get_it(fake_twilio: twilio.FakeTwilio) -> None:
    channel = twilio_channel(fake_twilio.url, to=["+14155550100", OTHER])
    fake_twilio.answers += [Answer(201, b'{"sid": "SM1"}'), twilio.error(429, 20429, "Too Many Requests")]
    fake_twilio.answers[-1].headers["Retry-After"] = "30"
    first = await channel.send(message())
    assert (first.ok, first.retry, first.retry_after) == (False, True, 30.0)
    assert "1 of 2 not texted" in first.error and OTHER in first.error
    assert [form(r.body)["To"] for r, _ in fake_twilio.refused] == ["+14155550100", OTHER]  # the canned answers
    assert (await channel.send(message())).ok
    assert [form(r.body)["To"] for r in fake_twilio.delivered] == [OTHER], "the first number is not texted again"


async def test_twilio_an_invalid_number_fails_for_good_after_the_others_got_it(fake_twilio: twilio.FakeTwilio) -> None:
    channel = twilio_channel(fake_twilio.url, to=[twilio.INVALID_NUMBER, OTHER])
    result = await channel.send(message())
    assert (result.ok, result.retry) == (False, False)
    assert "21211" in result.error and twilio.AUTH_TOKEN not in result.error
    assert [form(r.body)["To"] for r in fake_twilio.delivered] == [OTHER]


async def test_twilio_refused_credentials_are_not_retried(fake_twilio: twilio.FakeTwilio) -> None:
    settings = {"account_sid": twilio.ACCOUNT_SID, "auth_token": "wrong", "from": twilio.FROM, "to": [OTHER]}
    channel = TwilioChannel(TwilioSettings.model_validate({**settings, "api_url": fake_twilio.url}))
    result = await channel.send(message())
    assert (result.ok, result.retry) == (False, False) and "20003" in result.error


async def test_twilio_messaging_service_and_long_text(fake_twilio: twilio.FakeTwilio) -> None:
    sid = "MG" + "ab" * 16
    channel = twilio_channel(fake_twilio.url, **{"from": None, "messaging_service_sid": sid, "max_chars": 60})
    assert (await channel.send(message(50, 0, description="x" * 5000))).ok
    sent = form(fake_twilio.delivered[0].body)
    assert sent["MessagingServiceSid"] == sid and "From" not in sent
    assert len(sent["Body"]) == 60 and sent["Body"].endswith("…")


async def test_twilio_alert_text_is_plain(fake_twilio: twilio.FakeTwilio) -> None:
    assert (await twilio_channel(fake_twilio.url).send(message(1, 0, title=HOSTILE_TITLE + "\x07\x1b"))).ok
    body = form(fake_twilio.delivered[0].body)["Body"]
    assert "{{ ''.__class__ }}" in body and "\x07" not in body and "\x1b" not in body


def test_twilio_settings_say_what_is_wrong() -> None:
    base = {"account_sid": twilio.ACCOUNT_SID, "auth_token": "t", "to": [OTHER]}
    assert any("exactly one" in m for _, m in check_settings("twilio", base))
    assert any("E.164" in m for _, m in check_settings("twilio", {**base, "from": twilio.FROM, "to": ["13800138000"]}))
    assert [loc for loc, _ in check_settings("twilio", {**base, "from": twilio.FROM, "account_sid": "x"})] == [
        ("account_sid",)
    ]
    assert twilio.AUTH_TOKEN not in repr(
        TwilioSettings.model_validate({**base, "from": twilio.FROM, "auth_token": twilio.AUTH_TOKEN})
    )


# --- Aliyun SMS


async def test_aliyun_sends_a_signed_send_sms_with_template_params(fake_aliyun: aliyun.FakeAliyunSms) -> None:
    channel = aliyun_channel(fake_aliyun.url, phone_numbers=["13800138000", "+8613900139000"])
    result = await channel.send(message(1, 0, title="数据库 主库 磁盘 已满 " * 5))
    assert result.ok, result.error
    assert result.reply == {"biz_id": "900619746936498440^0"}
    sent = form(fake_aliyun.delivered[0].body)
    assert sent["PhoneNumbers"] == "13800138000,+8613900139000"
    assert sent["SignName"] == aliyun.SIGN_NAME and sent["OutId"] == "group:7:first"
    params = json.loads(sent["TemplateParam"])
    assert params["status"] == "firing"
    assert len(params["title"]) == 35 and params["title"].endswith("…"), "cut to Aliyun's 35 characters"


async def test_aliyun_a_wrong_secret_is_a_signature_mismatch_not_retried(fake_aliyun: aliyun.FakeAliyunSms) -> None:
    result = await aliyun_channel(fake_aliyun.url, access_key_secret="wrong-secret").send(message())
    assert (result.ok, result.retry) == (False, False)
    assert "SignatureDoesNotMatch" in result.error and "wrong-secret" not in result.error


async def test_aliyun_every_request_has_a_new_nonce(fake_aliyun: aliyun.FakeAliyunSms) -> None:
    channel = aliyun_channel(fake_aliyun.url)
    assert (await channel.send(message())).ok and (await channel.send(message())).ok
    assert len(fake_aliyun.nonces) == 2


async def test_aliyun_a_stale_clock_is_refused(fake_aliyun: aliyun.FakeAliyunSms) -> None:
    fake_aliyun.now = datetime.now(UTC) + timedelta(hours=1)
    result = await aliyun_channel(fake_aliyun.url).send(message())
    assert (result.ok, result.retry) == (False, False) and "InvalidTimeStamp" in result.error


@pytest.mark.parametrize(
    ("found", "retry", "wait"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", True, 60.0),
        ("Throttling.User", True, 60.0),
        ("isp.SYSTEM_ERROR", True, None),
        ("isv.MOBILE_NUMBER_ILLEGAL", False, None),
        ("isv.AMOUNT_NOT_ENOUGH", False, None),
        ("isv.TEMPLATE_MISSING_PARAMETERS", False, None),
    ],
)
async def test_aliyun_codes_inside_a_200(fake_aliyun: aliyun.FakeAliyunSms, found: str, retry: bool, wait: Any) -> None:
    fake_aliyun.answers.append(aliyun.code(200, found, "说明"))
    result = await aliyun_channel(fake_aliyun.url).send(message())
    assert (result.ok, result.retry, result.retry_after) == (False, retry, wait)
    assert found in result.error


async def test_aliyun_a_missing_template_variable_is_refused(fake_aliyun: aliyun.FakeAliyunSms) -> None:
    channel = aliyun_channel(fake_aliyun.url, template_params={"status": "{{ status }}"})
    result = await channel.send(message())
    assert (result.ok, result.retry) == (False, False) and "TEMPLATE_MISSING_PARAMETERS" in result.error


async def test_aliyun_template_params_never_evaluate_alert_text(fake_aliyun: aliyun.FakeAliyunSms) -> None:
    assert (await aliyun_channel(fake_aliyun.url).send(message(1, 0, title="{{ 7*7 }}"))).ok
    params = json.loads(form(fake_aliyun.delivered[0].body)["TemplateParam"])
    assert params["title"] == "{{ 7*7 }}"


def test_aliyun_settings_say_what_is_wrong() -> None:
    base = {
        "access_key_id": "id", "access_key_secret": "s", "sign_name": "x", "template_code": "SMS_1",
        "phone_numbers": ["13800138000"],
    }  # fmt: skip
    assert check_settings("aliyun_sms", base) == []
    assert [loc for loc, _ in check_settings("aliyun_sms", {**base, "template_code": "123"})] == [("template_code",)]
    problems = check_settings("aliyun_sms", {**base, "template_params": {"t": "{{ oops"}})
    assert problems and problems[0][0] == ("template_params",)
    assert check_settings("aliyun_sms", {**base, "phone_numbers": ["call me"]})[0][0] == ("phone_numbers",)


def test_preview_shows_the_text_and_params() -> None:
    preview = aliyun_channel("http://127.0.0.1:9").preview(message())
    assert preview["template_code"] == aliyun.TEMPLATE_CODE and '"status":"firing"' in preview["template_param"]
    assert dataclasses.is_dataclass(message())


def test_the_signature_matches_aliyuns_documented_example() -> None:
    # The worked example of Dysmsapi's "HTTP protocol and signature" page (a GET, secret testSecret).
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123", "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }  # fmt: skip
    assert signature(params, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
