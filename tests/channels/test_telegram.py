"""The telegram channel against a fake Bot API (tests/channels/fakes/telegram.py): the request,
Telegram's answers and errors, replies and topics, HTML escaping, the 4,096-character limit,
preview and settings."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from alert_handler.channels.base import Channel, Delivery, Message
from alert_handler.channels.registry import BUILTIN, check_settings
from alert_handler.channels.telegram import TelegramChannel, TelegramSettings, cut_html, visible_length
from alert_handler.templates import Templates
from tests.channels.contract import ChannelCase, ChannelContract
from tests.channels.factory import HOSTILE_TITLE, message
from tests.channels.fakes.fake_server import Answer, serving
from tests.channels.fakes.telegram import (
    BLOCKED,
    KICKED,
    MIGRATED,
    SUPERGROUP,
    TOKEN,
    FakeTelegram,
    parse_html,
    refusal,
    too_many_requests,
    units,
)
from tests.conftest import free_port


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with serving(FakeTelegram()) as fake:
        yield fake


def channel(fake: FakeTelegram, **extra: Any) -> TelegramChannel:
    settings = {"bot_token": TOKEN, "chat_id": SUPERGROUP, "api_url": fake.api_url, **extra}
    return TelegramChannel(TelegramSettings.model_validate(settings), templates=Templates())


async def send(made: TelegramChannel, sent: Message | None = None) -> Delivery:
    try:
        return await made.send(sent or message())
    finally:
        await made.close()


def shown(body: bytes) -> str:
    text, problem = parse_html(json.loads(body)["text"])
    assert problem is None
    return text


class TestTelegramContract(ChannelContract):
    @pytest.fixture
    def case(self, telegram: FakeTelegram) -> ChannelCase:
        def slow() -> Channel:
            telegram.delay = 1.0
            return channel(telegram, timeout_seconds=0.2)

        return ChannelCase(
            secrets=(TOKEN,),
            max_bytes=32_000,  # the fake also refuses more than 4,096 characters after parsing
            channel=lambda: channel(telegram),
            unreachable=lambda: channel(telegram, api_url=f"http://127.0.0.1:{free_port()}"),
            slow=slow,
            fail_next=lambda temporary: telegram.answers.append(
                too_many_requests(3) if temporary else refusal(400, "Bad Request: chat not found")
            ),
            delivered=lambda: [r.body for r in telegram.delivered],
            text=shown,
            settle=1.0,
        )

    async def test_delivers(self, case: ChannelCase) -> None:
        # The contract expects an empty reply; Telegram's names the message sent.
        made = case.channel()
        try:
            delivery = await made.send(message())
        finally:
            await made.close()
        assert delivery == Delivery.sent(reply={"message_id": "42"})
        assert len(case.delivered()) == 1


async def test_send_message_request(telegram: FakeTelegram) -> None:
    assert await send(channel(telegram)) == Delivery.sent(reply={"message_id": "42"})
    [request] = telegram.delivered
    assert request.path == f"/bot{TOKEN}/sendMessage" and request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert (body["chat_id"], body["parse_mode"], body["link_preview_options"]) == (
        SUPERGROUP,
        "HTML",
        {"is_disabled": True},
    )
    assert not {"message_thread_id", "reply_parameters", "disable_notification"} & set(body)
    text = telegram.sent[0]["shown"]
    assert text.startswith("🔥 FIRING: 2 alertname=DiskFull\n1 resolved · receiver ops")
    assert "CRITICAL Disk 1 full" in text and "✅ RESOLVED Disk 100 full" in text
    assert '<a href="http://alerts.example/api/v1/alerts/1">Open alert</a>' in body["text"]


async def test_channel_usernames_topics_replies_and_silent_resolved(telegram: FakeTelegram) -> None:
    assert (await send(channel(telegram, chat_id="@alerts_channel"))).ok
    first = await send(channel(telegram, message_thread_id=7))
    later = dataclasses.replace(message(0, 1), thread=first.reply)
    assert (await send(channel(telegram, message_thread_id=7, silent_resolved=True), later)).ok
    assert (await send(channel(telegram, replies=False), later)).ok
    named, topic, reply, plain = telegram.sent
    assert named["chat_id"] == "@alerts_channel" and topic["message_thread_id"] == 7
    assert reply["reply_parameters"] == {"message_id": 43, "allow_sending_without_reply": True}
    assert reply["disable_notification"] is True
    assert "reply_parameters" not in plain and "disable_notification" not in plain


async def test_a_reply_to_a_message_gone_is_still_sent(telegram: FakeTelegram) -> None:
    gone = dataclasses.replace(message(), thread={"message_id": "99999"})
    assert (await send(channel(telegram), gone)).ok


@pytest.mark.parametrize(
    ("settings", "error", "retry"),
    [
        ({"bot_token": "123456789:wrong"}, "Telegram 401: Unauthorized (check bot_token)", False),
        ({"chat_id": BLOCKED}, "Telegram 403: Forbidden: bot was blocked by the user", False),
        ({"chat_id": KICKED}, "Telegram 403: Forbidden: bot was kicked from the supergroup chat", False),
        ({"chat_id": -42}, "Telegram 400: Bad Request: chat not found", False),
        ({"message_thread_id": 8}, "Telegram 400: Bad Request: message thread not found", False),
        ({"chat_id": MIGRATED}, f"set chat_id to {SUPERGROUP}", False),
    ],
)
async def test_the_fake_refuses_and_no_retry_helps(
    telegram: FakeTelegram, settings: dict[str, Any], error: str, retry: bool
) -> None:
    delivery = await send(channel(telegram, **settings))
    assert (delivery.ok, delivery.retry) == (False, retry)
    assert delivery.error.startswith(error) or error in delivery.error
    assert TOKEN not in delivery.error and telegram.delivered == []


async def test_too_many_requests_waits_for_parameters_retry_after(telegram: FakeTelegram) -> None:
    telegram.answers.append(too_many_requests(17))
    delivery = await send(channel(telegram))
    assert (delivery.ok, delivery.retry, delivery.retry_after) == (False, True, 17.0)
    assert delivery.error == "Telegram 429: Too Many Requests: retry after 17"


@pytest.mark.parametrize(
    ("answer", "retry"),
    [
        (Answer.of_text(502, f"<html>502 Bad Gateway for /bot{TOKEN}/sendMessage</html>"), True),
        (refusal(500, "Internal Server Error"), True),
        (Answer.of_json(200, {"ok": False, "error_code": 400, "description": "Bad Request: odd"}), False),
        (Answer.of_json(200, {"ok": True, "result": True}), False),
        (Answer(200, b"<html>captive portal</html>", {"Content-Type": "text/html"}), False),
    ],
)
async def test_answers_are_read_not_trusted_by_status(telegram: FakeTelegram, answer: Answer, retry: bool) -> None:
    telegram.answers.append(answer)
    delivery = await send(channel(telegram))
    assert (delivery.ok, delivery.retry) == (False, retry)
    assert TOKEN not in delivery.error


async def test_alert_text_is_shown_as_text(telegram: FakeTelegram) -> None:
    assert (await send(channel(telegram), message(1, 0, title=HOSTILE_TITLE, description=HOSTILE_TITLE))).ok
    raw = telegram.delivered[0].json()["text"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw and "&lt;!channel&gt;" in raw
    assert "<script>" not in raw and '<a href="http://evil' not in raw
    text = telegram.sent[0]["shown"]
    assert "<script>alert(1)</script> *bold* [click](http://evil.example) <!channel>" in text  # literally
    assert "{{ ''.__class__ }}" in text and "<class" not in text


async def test_a_huge_message_drops_alerts_to_fit_4096_characters(telegram: FakeTelegram) -> None:
    huge = message(600, 0, title="磁盘已满 🔥" * 100, description="&<描述>" * 5_000)
    assert (await send(channel(telegram, language="zh"), huge)).ok
    text = telegram.sent[0]["shown"]
    listed = text.count("查看告警")
    assert units(text) <= 4096 and 0 < listed < 20
    assert f"另有 {600 - listed} 条告警未列出" in text


async def test_a_message_too_long_without_alerts_is_cut_between_tags(telegram: FakeTelegram) -> None:
    giant = dataclasses.replace(message(3, 0), group_labels={"cluster": "&😀" * 5_000})
    assert (await send(channel(telegram), giant)).ok
    text = telegram.sent[0]["shown"]
    assert 4000 < units(text) <= 4096 and text.endswith("…") and "Disk 1" not in text


def test_cut_html_keeps_tags_and_entities_whole() -> None:
    assert cut_html("<b>abc</b>", 3) == "<b>abc</b>"
    assert cut_html("<b>abcdef</b>", 4) == "<b>abc…</b>"
    assert cut_html("<i>a&amp;b&lt;c</i>", 3) == "<i>a&amp;…</i>"
    assert cut_html("<a href='x'>😀😀</a>tail", 4) == "<a href='x'>😀…</a>"
    assert visible_length("<b>&amp;😀</b>") == 3


async def test_chinese_template_and_digest_note(telegram: FakeTelegram) -> None:
    digest = dataclasses.replace(message(0, 2), merged=5)
    assert (await send(channel(telegram, language="zh"), digest)).ok
    text = telegram.sent[0]["shown"]
    assert text.startswith("✅ 已恢复 alertname=DiskFull") and "告警风暴保护把 5 条通知合并为这一条" in text


async def test_preview_renders_without_sending(telegram: FakeTelegram) -> None:
    made = channel(telegram)
    found = made.preview(message(1, 0))
    await made.close()
    assert found["text"].startswith("<b>🔥 FIRING: 1</b> Disk 1 full") and telegram.delivered == []


@pytest.mark.parametrize(
    ("settings", "where", "says"),
    [
        ({"chat_id": 1}, ("bot_token",), "Field required"),
        ({"bot_token": "s3cret-no-colon", "chat_id": 1}, ("bot_token",), "a bot token as @BotFather gives it"),
        ({"bot_token": TOKEN, "chat_id": "ops room"}, ("chat_id",), "numeric chat id"),
        ({"bot_token": TOKEN, "chat_id": 1, "api_url": "ftp://x"}, ("api_url",), "http:// or https://"),
        ({"bot_token": TOKEN, "chat_id": 1, "message_thread_id": 0}, ("message_thread_id",), "greater than or equal"),
    ],
)
def test_settings_say_what_is_wrong(settings: dict[str, Any], where: tuple[str, ...], says: str) -> None:
    [(found, problem)] = check_settings("telegram", settings)
    assert found == where and says in problem


def test_settings_keep_the_token_secret() -> None:
    with pytest.raises(ValueError) as raised:
        TelegramSettings.model_validate({"bot_token": "s3cret-no-colon", "chat_id": 1})
    assert "s3cret" not in str(raised.value)
    made = TelegramSettings(bot_token=TOKEN, chat_id="-100123")
    assert TOKEN not in repr(made) and made.per_minute == 20 and made.chat_id == "-100123"
    assert BUILTIN["telegram"] is TelegramChannel
