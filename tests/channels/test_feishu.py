"""The `feishu` channel against a fake Feishu bot that checks requests as Feishu does."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from alert_handler.channels.base import Channel, Delivery, Message
from alert_handler.channels.feishu import MAX_BODY_BYTES, FeishuChannel, FeishuSettings
from alert_handler.channels.registry import build, check_settings
from alert_handler.templates import Templates
from tests.channels.contract import ChannelCase, ChannelContract
from tests.channels.factory import HOSTILE_TITLE, message
from tests.channels.fakes.feishu import BAD_REQUEST, TOO_FAST, FakeFeishu, expected_sign, fake_feishu
from tests.channels.fakes.robot_server import Answer
from tests.conftest import free_port

TOKEN, SECRET = "fs-h00k-t0ken-s3cret", "fs-sign-s3cret"


def channel(fake: FakeFeishu, templates: Templates | None = None, **settings: Any) -> FeishuChannel:
    values = {"url": fake.webhook, **({"secret": fake.secret} if fake.secret else {}), **settings}
    return FeishuChannel(FeishuSettings.model_validate(values), templates=templates)


async def send(made: FeishuChannel, sent: Message | None = None) -> Delivery:
    try:
        return await made.send(sent or message())
    finally:
        await made.close()


def card(fake: FakeFeishu, index: int = -1) -> dict[str, Any]:
    found: dict[str, Any] = fake.server.received[index].json()["card"]
    return found


def lark_md(fake: FakeFeishu, index: int = -1) -> str:
    found: str = card(fake, index)["elements"][0]["text"]["content"]
    return found


def seen(body: bytes) -> str:
    sent = json.loads(body)["card"]
    return html.unescape(sent["header"]["title"]["content"] + "\n" + sent["elements"][0]["text"]["content"])


@pytest.fixture
def fake() -> Iterator[FakeFeishu]:
    with fake_feishu(TOKEN, secret=SECRET) as made:
        yield made


class TestFeishuContract(ChannelContract):
    @pytest.fixture
    def case(self) -> Iterator[ChannelCase]:
        with fake_feishu(TOKEN, secret=SECRET, keywords=("监控",)) as fake:

            def make(url: str, **extra: Any) -> Channel:
                return FeishuChannel(FeishuSettings(url=url, secret=SECRET, keyword="监控", **extra))

            def slow() -> Channel:
                fake.server.delay = 1.0
                return make(fake.webhook, timeout_seconds=0.2)

            yield ChannelCase(
                secrets=(TOKEN, SECRET),
                max_bytes=20 * 1024,
                channel=lambda: make(fake.webhook),
                unreachable=lambda: make(f"http://127.0.0.1:{free_port()}/open-apis/bot/v2/hook/{TOKEN}"),
                slow=slow,
                fail_next=lambda temporary: fake.server.answers.append(
                    Answer(200, TOO_FAST) if temporary else Answer(400, BAD_REQUEST)
                ),
                delivered=lambda: [r.body for r in fake.server.received],
                text=seen,
                settle=1.0,
            )


async def test_sends_a_signed_interactive_card(fake: FakeFeishu) -> None:
    assert (await send(channel(fake))).ok
    [request] = fake.server.received
    assert request.path == f"/open-apis/bot/v2/hook/{TOKEN}" and request.query == {}
    body = request.json()
    assert body["sign"] == expected_sign(SECRET, body["timestamp"]) and abs(int(body["timestamp"]) - time.time()) < 60
    assert body["msg_type"] == "interactive" and body["card"]["config"] == {"wide_screen_mode": True}
    assert body["card"]["header"] == {
        "title": {"tag": "plain_text", "content": "🔥 [FIRING:2] Disk 1 full (+2 more)"}, "template": "red",
    }  # fmt: skip
    text = body["card"]["elements"][0]["text"]
    assert text["tag"] == "lark_md" and text["content"].startswith("**2 firing**, 1 resolved\n")
    assert "🔴 **[CRITICAL] Disk 1 full**" in text["content"] and "✅ **[RESOLVED] Disk 100 full**" in text["content"]
    assert "[View the alert](http://alerts.example/api/v1/alerts/1)" in text["content"]
    [button] = body["card"]["elements"][1]["actions"]
    assert button == {
        "tag": "button", "text": {"tag": "plain_text", "content": "Open alert-handler"},
        "url": "http://alerts.example", "type": "primary",
    }  # fmt: skip


def with_severity(sent: Message, *severities: str) -> Message:
    return replace(sent, firing=[replace(a, severity=s) for a, s in zip(sent.firing, severities, strict=True)])


@pytest.mark.parametrize(
    ("sent", "colour"),
    [
        (message(1, 1), "red"),
        (with_severity(message(2, 0), "warning", "high"), "orange"),
        (with_severity(message(1, 0), "warning"), "yellow"),
        (with_severity(message(1, 0), "info"), "blue"),
        (message(0, 2), "green"),
    ],
)
async def test_the_header_shows_the_worst_firing_severity(fake: FakeFeishu, sent: Message, colour: str) -> None:
    assert (await send(channel(fake), sent)).ok
    assert card(fake)["header"]["template"] == colour


async def test_one_alert_links_to_its_page(fake: FakeFeishu) -> None:
    assert (await send(channel(fake, language="zh"), message(0, 1))).ok
    [button] = card(fake)["elements"][1]["actions"]
    assert (button["text"]["content"], button["url"], button["type"]) == (
        "查看告警详情", "http://alerts.example/api/v1/alerts/100", "default",
    )  # fmt: skip
    assert (
        await send(
            channel(fake), replace(message(1, 0), external_url="", firing=[replace(message(1, 0).firing[0], url="")])
        )
    ).ok
    assert len(card(fake)["elements"]) == 1  # nowhere to link to: no button


@pytest.mark.parametrize(
    ("answer", "retry", "wait"),
    [
        ({"code": 11232, "msg": "frequency limited"}, True, 60.0),
        ({"code": 9499, "msg": "Bad Request"}, False, None),
        ({"code": 19001, "msg": "param invalid"}, False, None),
        ({"code": 19021, "msg": "sign match fail"}, False, None),
        ({"code": 19022, "msg": "Ip Not Allowed"}, False, None),
        ({"code": 19024, "msg": "Key Words Not Found"}, False, None),
        ({"StatusCode": 19021, "StatusMessage": "sign match fail"}, False, None),  # the older answer
    ],
)
async def test_a_code_inside_http_200_is_a_failure(
    fake: FakeFeishu, answer: dict[str, Any], retry: bool, wait: float | None
) -> None:
    fake.server.answers.append(Answer(200, answer))
    delivery = await send(channel(fake))
    assert (delivery.ok, delivery.retry, delivery.retry_after) == (False, retry, wait)
    code = answer.get("code", answer.get("StatusCode"))
    assert delivery.error.startswith(f"Feishu error {code}: ")


@pytest.mark.parametrize(
    "answer", [{"StatusCode": 0, "StatusMessage": "success"}, {"code": 0, "msg": "success", "data": {}}]
)
async def test_both_success_answers_are_delivered(fake: FakeFeishu, answer: dict[str, Any]) -> None:
    fake.server.answers.append(Answer(200, answer))
    assert (await send(channel(fake))).ok


@pytest.mark.parametrize(("status", "retry"), [(500, True), (429, True), (400, False)])
async def test_http_failures(fake: FakeFeishu, status: int, retry: bool) -> None:
    fake.server.answers.append(Answer(status, BAD_REQUEST))
    delivery = await send(channel(fake))
    assert (delivery.ok, delivery.retry) == (False, retry) and delivery.error.startswith(f"HTTP {status}")


async def test_the_fake_checks_the_signature(fake: FakeFeishu) -> None:
    wrong = FeishuChannel(FeishuSettings(url=fake.webhook, secret="not-the-bots"))
    delivery = await send(wrong)
    assert (delivery.ok, delivery.retry) == (False, False) and delivery.error.startswith("Feishu error 19021")
    assert not (await send(FeishuChannel(FeishuSettings(url=fake.webhook)))).ok  # unsigned
    wrong_token = FeishuChannel(FeishuSettings(url=f"{fake.server.url}/open-apis/bot/v2/hook/other", secret=SECRET))
    assert (await send(wrong_token)).error.startswith("Feishu error 19001")
    assert fake.server.received == []


@pytest.mark.parametrize(("skew", "ok"), [(-1800, True), (1800, True), (-7200, False), (7200, False)])
async def test_the_timestamp_must_be_within_an_hour(fake: FakeFeishu, skew: float, ok: bool) -> None:
    skewed = FeishuChannel(FeishuSettings(url=fake.webhook, secret=SECRET), clock=lambda: time.time() + skew)
    assert (await send(skewed)).ok is ok


async def test_the_keyword_is_added_when_the_card_lacks_it() -> None:
    with fake_feishu(TOKEN, keywords=("监控",)) as fake:
        refused = await send(channel(fake))
        assert (refused.ok, refused.retry) == (False, False) and "Key Words Not Found" in refused.error
        assert (await send(channel(fake, keyword="监控"))).ok
        assert lark_md(fake).endswith("\n监控")
    with fake_feishu(TOKEN, keywords=("Disk",)) as fake:
        assert (await send(channel(fake, keyword="Disk"))).ok
        assert not lark_md(fake).endswith("Disk")


async def test_mentions_on_firing_alerts_and_everyone_only_for_critical(fake: FakeFeishu) -> None:
    people = {"at_user_ids": ["ou_7d8a6e6df7621556ce0d21922b676706"], "at_all": True}
    assert (await send(channel(fake, **people), message(1, 0))).ok
    assert lark_md(fake).endswith("\n<at id=ou_7d8a6e6df7621556ce0d21922b676706></at> <at id=all></at>")
    assert (await send(channel(fake, **people), with_severity(message(1, 0), "high"))).ok
    assert lark_md(fake).endswith("\n<at id=ou_7d8a6e6df7621556ce0d21922b676706></at>")
    assert (await send(channel(fake, **people), message(0, 1))).ok
    assert "<at " not in lark_md(fake)


async def test_hostile_alert_text_is_delivered_as_text(fake: FakeFeishu) -> None:
    description = "{{ 7*7 }} <at id=all></at> **x** ~~y~~"
    assert (await send(channel(fake), message(1, 0, title=HOSTILE_TITLE, description=description))).ok
    content = lark_md(fake)
    for live in ("<script", "[click](", "*bold*", "<!channel>", "<at id=all>", "**x**", "~~y~~"):
        assert live not in content
    assert HOSTILE_TITLE in html.unescape(content) and description in html.unescape(content)
    assert card(fake)["header"]["title"]["content"] == f"🔥 [FIRING:1] {HOSTILE_TITLE}"[:100]  # plain text


async def test_a_storm_lists_fewer_alerts_within_20_kb(fake: FakeFeishu) -> None:
    assert (await send(channel(fake, language="zh", max_alerts=0), message(200, 0, description="磁盘写满" * 200))).ok
    body, content = fake.server.received[-1].body, lark_md(fake)
    shown = content.count("[严重]")
    assert len(body) <= MAX_BODY_BYTES and 1 < shown < 200
    assert content.endswith(f"……另有 {200 - shown} 条告警未列出")
    assert (await send(channel(fake), message(30, 0))).ok  # at most 20 by default
    assert lark_md(fake).count("[CRITICAL]") == 20 and lark_md(fake).endswith("... and 10 more alerts not shown")


async def test_one_huge_alert_is_cut_to_fit(fake: FakeFeishu, tmp_path: Path) -> None:
    (tmp_path / "en" / "feishu").mkdir(parents=True)
    (tmp_path / "en" / "feishu" / "body.lark").write_text("{{ alerts[0].description }}", encoding="utf-8")
    made = channel(fake, Templates(tmp_path), at_all=True)
    assert (await send(made, message(1, 0, description='告警🔥"\n<' * 3000))).ok
    body, content = fake.server.received[-1].body, lark_md(fake)
    assert len(body) <= MAX_BODY_BYTES and content.endswith("…\n<at id=all></at>")
    assert html.unescape(content).startswith('告警🔥"\n<告警🔥"\n<')


async def test_digest_and_chinese_templates(fake: FakeFeishu) -> None:
    assert (await send(channel(fake, language="zh"), replace(message(2, 1), merged=6, kind="escalation"))).ok
    assert card(fake)["header"]["title"]["content"] == "⏫ [升级] 🔥 [告警 2] Disk 1 full 等 3 条"
    content = lark_md(fake)
    assert content.startswith("**2 条告警触发中**，1 条已恢复\n**分组**：alertname=DiskFull\n")  # noqa: RUF001
    assert "**告警风暴保护**：6 条通知已合并为本条摘要" in content  # noqa: RUF001
    assert "🔴 **[严重] Disk 1 full**" in content and "[查看告警详情](http://alerts.example/api/v1/alerts/2)" in content


async def test_preview_renders_without_sending(fake: FakeFeishu) -> None:
    made = channel(fake)
    assert set(made.preview(message())) == {"title", "text"}
    assert fake.server.requests == []
    await made.close()


@pytest.mark.parametrize(
    ("settings", "where", "says"),
    [
        ({"url": "https://open.feishu.cn/open-apis/bot/v2/"}, ("url",), "is not a bot Webhook"),
        ({"url": "open.feishu.cn/open-apis/bot/v2/hook/x"}, ("url",), "https:// URL"),
        ({"at_user_ids": ["all"]}, ("at_user_ids",), "set at_all"),
        ({"at_user_ids": ["ou 1"]}, ("at_user_ids",), "is not an open_id or user_id"),
        ({"keyword": " "}, ("keyword",), "one line"),
        ({"msg_type": "text"}, ("msg_type",), "Extra inputs are not permitted"),
    ],
)
def test_settings_say_what_is_wrong(settings: dict[str, Any], where: tuple[str, ...], says: str) -> None:
    problems = check_settings("feishu", {"url": f"https://open.feishu.cn/open-apis/bot/v2/hook/{TOKEN}", **settings})
    assert [p[0] for p in problems] == [where] and says in problems[0][1] and TOKEN not in problems[0][1]


def test_settings_hide_secrets_and_default_to_a_hundred_a_minute() -> None:
    made = build("feishu", {"url": f"https://open.feishu.cn/open-apis/bot/v2/hook/{TOKEN}", "secret": SECRET})
    assert isinstance(made, FeishuChannel) and made.settings.per_minute == 100
    assert TOKEN not in repr(made.settings) and SECRET not in repr(made.settings)
