"""The slack channel against a fake Slack (tests/channels/fakes/slack.py): both modes, Slack's
documented answers and errors, threads, escaping, cutting, preview, settings and environment."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from alert_handler.channels.base import Channel, Delivery, Message
from alert_handler.channels.env import env_receivers
from alert_handler.channels.registry import BUILTIN, check_settings
from alert_handler.channels.slack import SlackChannel, SlackSettings, cut_mrkdwn
from alert_handler.settings import Settings
from alert_handler.templates import Templates
from tests.channels.contract import ChannelCase, ChannelContract
from tests.channels.factory import HOSTILE_TITLE, message
from tests.channels.fakes.fake_server import Answer, serving
from tests.channels.fakes.slack import (
    ARCHIVED_PATH,
    BOT_TOKEN,
    CHANNEL_ID,
    WEBHOOK_PATH,
    FakeSlack,
    api_refusal,
    block_problem,
    webhook_refusal,
)
from tests.conftest import free_port

HOOK_SECRET = WEBHOOK_PATH.rsplit("/", 1)[1]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with serving(FakeSlack()) as fake:
        yield fake


def webhook(fake: FakeSlack, **extra: Any) -> SlackChannel:
    settings = SlackSettings.model_validate({"webhook_url": fake.webhook_url, **extra})
    return SlackChannel(settings, templates=Templates())


def bot(fake: FakeSlack, **extra: Any) -> SlackChannel:
    settings = {"bot_token": BOT_TOKEN, "channel": CHANNEL_ID, "api_url": fake.api_url, **extra}
    return SlackChannel(SlackSettings.model_validate(settings), templates=Templates())


async def send(channel: SlackChannel, sent: Message | None = None) -> Delivery:
    try:
        return await channel.send(sent or message())
    finally:
        await channel.close()


def seen(body: bytes) -> str:
    return json.dumps(json.loads(body), ensure_ascii=False)


def mrkdwn_texts(body: dict[str, Any]) -> list[str]:
    found = [body["text"]]
    for block in body["blocks"]:
        if block["type"] == "section":
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            found.append(element["text"])
    return found


class TestSlackWebhookContract(ChannelContract):
    @pytest.fixture
    def case(self, slack: FakeSlack) -> ChannelCase:
        def slow() -> Channel:
            slack.delay = 1.0
            return webhook(slack, timeout_seconds=0.2)

        return ChannelCase(
            secrets=(HOOK_SECRET,),
            max_bytes=40_000,
            channel=lambda: webhook(slack),
            unreachable=lambda: SlackChannel(
                SlackSettings(webhook_url=f"http://127.0.0.1:{free_port()}{WEBHOOK_PATH}")
            ),
            slow=slow,
            fail_next=lambda temporary: slack.answers.append(webhook_refusal(500 if temporary else 404)),
            delivered=lambda: [r.body for r in slack.delivered],
            text=seen,
            settle=1.0,
        )


class TestSlackBotContract(ChannelContract):
    @pytest.fixture
    def case(self, slack: FakeSlack) -> ChannelCase:
        def slow() -> Channel:
            slack.delay = 1.0
            return bot(slack, timeout_seconds=0.2)

        return ChannelCase(
            secrets=(BOT_TOKEN,),
            max_bytes=40_100,  # the payload's 40,000 bytes and the channel
            channel=lambda: bot(slack),
            unreachable=lambda: bot(slack, api_url=f"http://127.0.0.1:{free_port()}/api"),
            slow=slow,
            fail_next=lambda temporary: slack.answers.append(
                api_refusal("internal_error" if temporary else "channel_not_found")
            ),
            delivered=lambda: [r.body for r in slack.delivered],
            text=seen,
            settle=1.0,
        )

    async def test_delivers(self, case: ChannelCase) -> None:
        # The contract expects an empty reply; the bot's reply names the posted message.
        channel = case.channel()
        try:
            delivery = await channel.send(message())
        finally:
            await channel.close()
        assert delivery.ok and not delivery.error
        assert delivery.reply == {"channel": CHANNEL_ID, "ts": "1712000000.000001"}
        assert len(case.delivered()) == 1


# --- incoming webhook


async def test_webhook_posts_block_kit_json(slack: FakeSlack) -> None:
    assert await send(webhook(slack)) == Delivery.sent()
    [request] = slack.delivered
    assert request.path == WEBHOOK_PATH and request.headers["Content-Type"].startswith("application/json")
    body = request.json()
    assert block_problem(body["blocks"]) is None
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "section", "section", "context"]
    assert body["blocks"][0]["text"]["text"] == "🔥 [FIRING:2] alertname=DiskFull"
    assert "*2 firing*, 1 resolved" in body["blocks"][1]["text"]["text"]
    assert "<http://alerts.example/api/v1/alerts/1|Open alert>" in body["blocks"][2]["text"]["text"]
    assert ":white_check_mark: *RESOLVED*" in body["blocks"][4]["text"]["text"]
    assert body["text"].startswith("🔥 [FIRING:2]") and (body["unfurl_links"], body["unfurl_media"]) == (False, False)


async def test_webhook_needs_exactly_ok_in_a_200(slack: FakeSlack) -> None:
    slack.answers.append(Answer(200, b"<html>proxy login</html>", {"Content-Type": "text/html"}))
    delivery = await send(webhook(slack))
    assert (delivery.ok, delivery.retry) == (False, False)
    assert "without `ok`" in delivery.error and "proxy login" in delivery.error


@pytest.mark.parametrize(
    ("status", "body", "retry"),
    [
        (400, "invalid_payload", False),
        (400, "invalid_blocks", False),
        (400, "no_text", False),
        (403, "action_prohibited", False),
        (403, "invalid_token", False),
        (404, "channel_not_found", False),
        (404, "no_service", False),
        (410, "channel_is_archived", False),
        (500, "rollup_error", True),
    ],
)
async def test_webhook_errors_as_slack_documents_them(slack: FakeSlack, status: int, body: str, retry: bool) -> None:
    slack.answers.append(Answer.of_text(status, body))
    delivery = await send(webhook(slack))
    assert (delivery.ok, delivery.retry) == (False, retry)
    assert delivery.error == f"Slack webhook: HTTP {status}: {body}"


async def test_webhook_rate_limit_waits_for_retry_after(slack: FakeSlack) -> None:
    slack.answers.append(Answer.of_text(429, "rate_limited", **{"Retry-After": "7"}))
    delivery = await send(webhook(slack))
    assert (delivery.ok, delivery.retry, delivery.retry_after) == (False, True, 7.0)


async def test_webhook_refused_by_the_fake_for_a_wrong_or_archived_url(slack: FakeSlack) -> None:
    wrong = SlackChannel(SlackSettings(webhook_url=slack.url + "/services/T0001/B0001/other"))
    archived = SlackChannel(SlackSettings(webhook_url=slack.url + ARCHIVED_PATH))
    assert (await send(wrong)).error == "Slack webhook: HTTP 403: invalid_token"
    delivery = await send(archived)
    assert (delivery.retry, delivery.error) == (False, "Slack webhook: HTTP 410: channel_is_archived")
    assert "archived-s3cret" not in delivery.error and slack.delivered == []


# --- bot token (chat.postMessage)


async def test_bot_posts_to_chat_post_message_and_replies_with_channel_and_ts(slack: FakeSlack) -> None:
    delivery = await send(bot(slack))
    assert delivery == Delivery.sent(reply={"channel": CHANNEL_ID, "ts": "1712000000.000001"})
    [request] = slack.delivered
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    body = request.json()
    assert body["channel"] == CHANNEL_ID and "thread_ts" not in body and "reply_broadcast" not in body
    assert block_problem(body["blocks"]) is None and body["text"]


async def test_later_messages_reply_in_the_thread(slack: FakeSlack) -> None:
    first = await send(bot(slack, channel="#alerts"))
    later = dataclasses.replace(message(0, 2), thread=first.reply)
    assert (await send(bot(slack, channel="#alerts", broadcast_resolved=True), later)).ok
    assert (await send(bot(slack, channel="#alerts"), later)).ok
    assert (await send(bot(slack, channel="#alerts", threads=False), later)).ok
    _, broadcast, quiet, unthreaded = slack.posted
    assert (broadcast["channel"], broadcast["thread_ts"], broadcast["reply_broadcast"]) == (
        CHANNEL_ID,
        first.reply["ts"],
        True,
    )
    assert quiet["thread_ts"] == first.reply["ts"] and "reply_broadcast" not in quiet
    assert "thread_ts" not in unthreaded and unthreaded["channel"] == "#alerts"


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        ("invalid_auth", False),
        ("not_in_channel", False),
        ("channel_not_found", False),
        ("invalid_blocks", False),
        ("msg_too_long", False),
        ("is_archived", False),
        ("ratelimited", True),
        ("internal_error", True),
        ("fatal_error", True),
        ("service_unavailable", True),
        ("request_timeout", True),
    ],
)
async def test_bot_ok_false_inside_a_200_is_a_failure(slack: FakeSlack, error: str, retry: bool) -> None:
    slack.answers.append(api_refusal(error))
    delivery = await send(bot(slack))
    assert (delivery.ok, delivery.retry) == (False, retry)
    assert delivery.error.startswith(f"Slack API: {error}")


async def test_bot_rate_limit_429_waits_for_retry_after(slack: FakeSlack) -> None:
    slack.answers.append(api_refusal("ratelimited", 429, **{"Retry-After": "30"}))
    delivery = await send(bot(slack))
    assert (delivery.ok, delivery.retry, delivery.retry_after) == (False, True, 30.0)


async def test_bot_refused_by_the_fake_for_token_and_channel(slack: FakeSlack) -> None:
    wrong = SlackChannel(SlackSettings(bot_token="xoxb-wrong", channel=CHANNEL_ID, api_url=slack.api_url))
    assert (await send(wrong)).error == "Slack API: invalid_auth (check bot_token)"
    outside = await send(bot(slack, channel="C0NOTIN"))
    assert (outside.retry, outside.error) == (False, "Slack API: not_in_channel (invite the app to the channel)")
    unknown = await send(bot(slack, channel="C0NOPE"))
    assert unknown.error.startswith("Slack API: channel_not_found") and slack.delivered == []


async def test_bot_answer_without_json_is_a_failure(slack: FakeSlack) -> None:
    slack.answers.append(Answer(200, b"<html>gateway</html>", {"Content-Type": "text/html"}))
    delivery = await send(bot(slack))
    assert (delivery.ok, delivery.retry, delivery.error) == (False, False, "Slack API: HTTP 200 without JSON")


# --- text: escaping, cutting, languages, preview


@pytest.mark.parametrize("mode", [webhook, bot])
async def test_alert_text_cannot_mention_link_or_run(slack: FakeSlack, mode: Any) -> None:
    assert (await send(mode(slack), message(1, 0, title=HOSTILE_TITLE, description=HOSTILE_TITLE))).ok
    body = slack.delivered[0].json()
    for text in mrkdwn_texts(body):
        assert "<!channel>" not in text and "<script>" not in text and "<http://evil" not in text
    alert = body["blocks"][2]["text"]
    assert alert["verbatim"] is True
    assert "&lt;!channel&gt;" in alert["text"] and "&lt;script&gt;alert(1)&lt;/script&gt;" in alert["text"]
    assert "{{ ''.__class__ }}" in alert["text"] and "<class" not in seen(slack.delivered[0].body)
    assert "&lt;!channel&gt;" in body["text"]  # the fallback carries the title escaped too


async def test_a_huge_message_drops_alerts_and_says_how_many(slack: FakeSlack) -> None:
    huge = message(600, 5, title="磁盘已满 " * 100, description="描述" * 20_000)
    assert (await send(webhook(slack)), await send(webhook(slack, language="zh"), huge))[1].ok
    body = slack.delivered[1].json()
    assert len(slack.delivered[1].body) <= 40_000 and block_problem(body["blocks"]) is None
    sections = [b for b in body["blocks"] if b["type"] == "section"]
    shown = len(sections) - 1
    assert 0 < shown <= 20
    assert f"另有 {605 - shown} 条告警未列出" in body["blocks"][-1]["elements"][0]["text"]
    assert len(body["blocks"][0]["text"]["text"]) <= 150


async def test_a_long_section_is_cut_without_breaking_an_entity(slack: FakeSlack) -> None:
    assert (await send(webhook(slack), message(1, 0, description="&" * 5000))).ok
    text = slack.delivered[0].json()["blocks"][2]["text"]["text"]
    assert len(text) <= 3000 and text.endswith("&amp;…")


def test_cut_mrkdwn_keeps_links_and_entities_whole() -> None:
    assert cut_mrkdwn("abc", 3) == "abc"
    assert cut_mrkdwn("ab <http://x|open> tail", 10) == "ab …"
    assert cut_mrkdwn("ab &amp; tail", 6) == "ab …"
    assert cut_mrkdwn("ab &amp; tail", 9) == "ab &amp;…"


async def test_chinese_templates(slack: FakeSlack) -> None:
    resolved = dataclasses.replace(message(0, 2), merged=4)
    assert (await send(webhook(slack, language="zh"), resolved)).ok
    body = slack.delivered[0].json()
    assert body["blocks"][0]["text"]["text"].startswith("✅ [已恢复]")
    assert "*全部 2 条已恢复*" in body["blocks"][1]["text"]["text"]
    assert "告警风暴保护把 4 条通知合并为这一条" in body["blocks"][1]["text"]["text"]


async def test_preview_renders_without_sending(slack: FakeSlack) -> None:
    channel = bot(slack)
    shown = channel.preview(message(1, 0))
    await channel.close()
    assert shown["text"].startswith("🔥 [FIRING:1] Disk 1 full")
    assert json.loads(shown["body"])["blocks"][0]["type"] == "header"
    assert slack.delivered == [] and BOT_TOKEN not in shown["body"]


# --- settings and environment


@pytest.mark.parametrize(
    ("settings", "where", "says"),
    [
        ({}, (), "set webhook_url (an incoming webhook) or bot_token and channel"),
        ({"webhook_url": "https://hooks.slack.com/services/x", "bot_token": "xoxb-1", "channel": "C1"}, (), "not both"),
        ({"bot_token": "xoxb-1"}, (), "bot_token needs channel"),
        ({"webhook_url": "https://hooks.slack.com/services/x", "channel": "C1"}, (), "channel is for bot_token"),
        ({"bot_token": "s3cret-token", "channel": "C1"}, ("bot_token",), "must be a Slack bot token"),
        ({"webhook_url": "ftp://s3cret-host/x"}, ("webhook_url",), "http:// or https://"),
        ({"webhook_url": "https://h/x", "max_alerts": 47}, ("max_alerts",), "less than or equal to 46"),
    ],
)
def test_settings_say_what_is_wrong(settings: dict[str, Any], where: tuple[str, ...], says: str) -> None:
    [(found, problem)] = check_settings("slack", settings)
    assert found == where and says in problem


def test_settings_errors_and_repr_keep_secrets() -> None:
    with pytest.raises(ValueError) as raised:
        SlackSettings.model_validate({"bot_token": "xoxb-s3cret-token"})
    assert "s3cret" not in str(raised.value)
    shown = SlackSettings(bot_token="xoxb-s3cret-token", channel="C1")
    assert "s3cret" not in repr(shown) and shown.per_minute == 60
    assert BUILTIN["slack"] is SlackChannel


def test_environment_makes_a_bot_or_a_webhook_receiver() -> None:
    hook = "https://hooks.slack.com/services/T/B/x"
    both = Settings(slack_bot_token="xoxb-1", slack_channel="#ops", slack_webhook_url=hook)
    assert env_receivers(both) == [
        {"name": "slack", "type": "slack", "settings": {"bot_token": "xoxb-1", "channel": "#ops"}}
    ]
    [made] = env_receivers(Settings(slack_bot_token="xoxb-1", slack_webhook_url=hook))
    assert made["settings"] == {"webhook_url": hook}
    assert check_settings("slack", made["settings"]) == []
    assert env_receivers(Settings(slack_bot_token="xoxb-1")) == []
