"""The `wecom` channel against a fake WeCom group robot that checks requests as WeCom does."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from alert_handler.channels.base import Channel, Delivery, Message
from alert_handler.channels.registry import build, check_settings
from alert_handler.channels.wecom import MAX_CONTENT_BYTES, WeComChannel, WeComSettings
from alert_handler.templates import Templates
from tests.channels.contract import ChannelCase, ChannelContract
from tests.channels.factory import HOSTILE_TITLE, message
from tests.channels.fakes.robot_server import Answer
from tests.channels.fakes.wecom import BAD_URL, TOO_FAST, FakeWeCom, fake_wecom
from tests.conftest import free_port

KEY = "693a91f6-wecom-k3y-s3cret"


def channel(fake: FakeWeCom, templates: Templates | None = None, **settings: Any) -> WeComChannel:
    return WeComChannel(WeComSettings.model_validate({"url": fake.webhook, **settings}), templates=templates)


async def send(made: WeComChannel, sent: Message | None = None) -> Delivery:
    try:
        return await made.send(sent or message())
    finally:
        await made.close()


def content(fake: FakeWeCom, index: int = -1) -> str:
    found: str = fake.server.received[index].json()["markdown"]["content"]
    return found


def own_template(tmp_path: Path, source: str) -> Templates:
    """Templates with the user's own `content.wecom`, to put any text at the size limit."""
    (tmp_path / "en" / "wecom").mkdir(parents=True)
    (tmp_path / "en" / "wecom" / "content.wecom").write_text(source, encoding="utf-8")
    return Templates(tmp_path)


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with fake_wecom(KEY) as made:
        yield made


class TestWeComContract(ChannelContract):
    @pytest.fixture
    def case(self) -> Iterator[ChannelCase]:
        with fake_wecom(KEY) as fake:

            def make(url: str, **extra: Any) -> Channel:
                return WeComChannel(WeComSettings(url=url, **extra))

            def slow() -> Channel:
                fake.server.delay = 1.0
                return make(fake.webhook, timeout_seconds=0.2)

            yield ChannelCase(
                secrets=(KEY,),
                max_bytes=MAX_CONTENT_BYTES + 100,
                channel=lambda: make(fake.webhook),
                unreachable=lambda: make(f"http://127.0.0.1:{free_port()}/cgi-bin/webhook/send?key={KEY}"),
                slow=slow,
                fail_next=lambda temporary: fake.server.answers.append(Answer(200, TOO_FAST if temporary else BAD_URL)),
                delivered=lambda: [r.body for r in fake.server.received],
                text=lambda body: html.unescape(json.loads(body)["markdown"]["content"]),
                settle=1.0,
            )


async def test_sends_a_markdown_message(fake: FakeWeCom) -> None:
    assert (await send(channel(fake))).ok
    [request] = fake.server.received
    assert request.path == "/cgi-bin/webhook/send" and request.query == {"key": KEY}
    assert request.headers["Content-Type"].startswith("application/json")
    body = request.json()
    assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
    text = body["markdown"]["content"]
    assert text.startswith('### <font color="warning">🔥 2 firing</font>, <font color="info">1 resolved</font>')
    assert "**🔴 [CRITICAL] Disk 1 full**" in text and "**✅ [RESOLVED] Disk 100 full**" in text
    assert "> [View the alert](http://alerts.example/api/v1/alerts/2)" in text


@pytest.mark.parametrize(
    ("code", "retry", "wait"),
    [
        (45009, True, 60.0),  # api freq out of limit
        (-1, True, None),  # system busy
        (93000, False, None),  # invalid webhook url
        (40008, False, None),  # invalid message type
        (44004, False, None),  # empty content
        (40058, False, None),  # invalid parameter (content too long)
    ],
)
async def test_an_errcode_inside_http_200_is_a_failure(
    fake: FakeWeCom, code: int, retry: bool, wait: float | None
) -> None:
    fake.server.answers.append(Answer(200, {"errcode": code, "errmsg": "refused"}))
    delivery = await send(channel(fake))
    assert (delivery.ok, delivery.retry, delivery.retry_after) == (False, retry, wait)
    assert delivery.error == f"WeCom error {code}: refused"


@pytest.mark.parametrize(("status", "retry"), [(502, True), (429, True), (400, False), (403, False)])
async def test_http_failures(fake: FakeWeCom, status: int, retry: bool) -> None:
    fake.server.answers.append(Answer(status, "no"))
    delivery = await send(channel(fake))
    assert (delivery.ok, delivery.retry) == (False, retry) and delivery.error.startswith(f"HTTP {status}")


async def test_the_fake_refuses_what_wecom_refuses(fake: FakeWeCom) -> None:
    wrong = WeComChannel(WeComSettings(url=f"{fake.server.url}/cgi-bin/webhook/send?key=other"))
    delivery = await send(wrong)
    assert (delivery.ok, delivery.retry) == (False, False) and delivery.error.startswith("WeCom error 93000")
    async with httpx.AsyncClient() as client:
        for body, code in [
            ({"msgtype": "markdown", "markdown": {"content": "告" * 1366}}, 40058),  # 4098 bytes
            ({"msgtype": "markdown", "markdown": {"content": " "}}, 44004),
            ({"msgtype": "card"}, 40008),
        ]:
            answer = await client.post(fake.webhook, json=body)
            assert (answer.status_code, answer.json()["errcode"]) == (200, code)
    assert fake.server.received == []


async def test_the_robots_rate_limit_is_retried_after_a_minute() -> None:
    with fake_wecom(KEY, per_minute=1) as fake:
        assert (await send(channel(fake))).ok
        delivery = await send(channel(fake))
        assert (delivery.ok, delivery.retry, delivery.retry_after) == (False, True, 60.0)
        assert "api freq out of limit" in delivery.error


async def test_mentions_on_firing_alerts(fake: FakeWeCom) -> None:
    assert (await send(channel(fake, mentioned_user_ids=["zhangsan", "li.si"]))).ok
    assert content(fake).endswith("\n\n<@zhangsan> <@li.si>")
    assert (await send(channel(fake, mentioned_user_ids=["zhangsan"]), message(0, 1))).ok
    assert "<@" not in content(fake)


async def test_hostile_alert_text_is_delivered_as_text(fake: FakeWeCom) -> None:
    description = '{{ 7*7 }} <@all> <font color="warning">x</font>'
    assert (await send(channel(fake), message(1, 0, title=HOSTILE_TITLE, description=description))).ok
    sent = content(fake)
    for live in ("<script", "[click](", "*bold*", "<!channel>", "<@all>", '<font color="warning">x'):
        assert live not in sent
    assert HOSTILE_TITLE in html.unescape(sent) and description in html.unescape(sent)


@pytest.mark.parametrize(
    ("head", "straddling"),  # the 4093rd byte (4096 less the 3 of `…`) falls inside `straddling`
    [("告" * 1364, "🔥"), ("a" + "告" * 1363 + "b", "告"), ("ab" + "告" * 1363, "🔥")],
    ids=["emoji", "han", "emoji-after-ascii"],
)
async def test_content_is_cut_at_a_character_at_4096_bytes(
    fake: FakeWeCom, tmp_path: Path, head: str, straddling: str
) -> None:
    assert len(head.encode()) < MAX_CONTENT_BYTES - 3 < len((head + straddling).encode())
    made = channel(fake, own_template(tmp_path, "{{ alerts[0].description }}"))
    assert (await send(made, message(1, 0, description=head + straddling + "尾" * 600))).ok
    sent = content(fake)
    assert sent == head + "…" and len(sent.encode()) <= MAX_CONTENT_BYTES


async def test_a_storm_lists_fewer_alerts_and_says_how_many_more(fake: FakeWeCom) -> None:
    assert (await send(channel(fake, language="zh", max_alerts=0), message(80, 0, description="磁盘写满" * 100))).ok
    sent = content(fake)
    shown = sent.count("[严重]")
    assert len(sent.encode()) <= MAX_CONTENT_BYTES and 1 < shown < 80
    assert f"……另有 {80 - shown} 条告警未列出，[在 alert-handler 中查看](http://alerts.example)" in sent  # noqa: RUF001
    assert (await send(channel(fake), message(15, 0))).ok  # at most 10 by default
    assert content(fake).count("[CRITICAL]") == 10 and "5 more alerts not shown" in content(fake)


async def test_chinese_templates_and_the_digest_note(fake: FakeWeCom) -> None:
    sent_message = replace(message(1, 1), merged=4, kind="escalation")
    assert (await send(channel(fake, language="zh"), sent_message)).ok
    sent = content(fake)
    assert sent.startswith('**<font color="warning">⏫ 告警升级</font>**\n### <font color="warning">🔥 1 条告警触发中')
    assert "> 告警风暴保护：4 条通知已合并为本条摘要" in sent  # noqa: RUF001
    assert "**🔴 [严重] Disk 1 full**" in sent and "**✅ [已恢复] Disk 100 full**" in sent
    assert "> [查看告警详情](http://alerts.example/api/v1/alerts/1)" in sent


async def test_preview_renders_without_sending(fake: FakeWeCom) -> None:
    made = channel(fake)
    assert set(made.preview(message())) == {"content"}
    assert fake.server.requests == []
    await made.close()


@pytest.mark.parametrize(
    ("settings", "where", "says"),
    [
        ({"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}, ("url",), "has no key"),
        ({"url": "qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x"}, ("url",), "https:// URL"),
        ({"mentioned_user_ids": ["@all x"]}, ("mentioned_user_ids",), "is not a WeCom user id"),
        ({"max_alerts": -1}, ("max_alerts",), "greater than or equal to 0"),
        ({"mentioned_mobile_list": ["1"]}, ("mentioned_mobile_list",), "Extra inputs are not permitted"),
    ],
)
def test_settings_say_what_is_wrong(settings: dict[str, Any], where: tuple[str, ...], says: str) -> None:
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
    problems = check_settings("wecom", {"url": url, **settings})
    assert [p[0] for p in problems] == [where] and says in problems[0][1] and KEY not in problems[0][1]


def test_settings_hide_the_key_and_default_to_twenty_a_minute() -> None:
    made = build("wecom", {"url": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"})
    assert isinstance(made, WeComChannel) and made.settings.per_minute == 20
    assert KEY not in repr(made.settings)
