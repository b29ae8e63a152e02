"""The `dingtalk` channel against a fake DingTalk robot that checks requests as DingTalk does."""

from __future__ import annotations

import html
import itertools
import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from alert_handler.channels.base import Channel, Message
from alert_handler.channels.dingtalk import MAX_TEXT_BYTES, DingTalkChannel, DingTalkSettings
from alert_handler.channels.env import env_receivers
from alert_handler.channels.registry import build, check_settings
from alert_handler.settings import Settings
from alert_handler.templates import Templates
from tests.channels.contract import ChannelCase, ChannelContract
from tests.channels.factory import HOSTILE_TITLE, message
from tests.channels.fakes.dingtalk import KEYWORDS, TOO_FAST, FakeDingTalk, expected_sign, fake_dingtalk
from tests.channels.fakes.robot_server import Answer
from tests.conftest import free_port

TOKEN, SECRET = "dt-t0ken-s3cret", "SECd1ngtalk-s3cret"


def channel(fake: FakeDingTalk, **settings: Any) -> DingTalkChannel:
    values = {"url": fake.webhook, **({"secret": fake.secret} if fake.secret else {}), **settings}
    return DingTalkChannel(DingTalkSettings.model_validate(values))


async def send(made: DingTalkChannel, sent: Message | None = None) -> Any:
    try:
        return await made.send(sent or message())
    finally:
        await made.close()


def markdown(fake: FakeDingTalk, index: int = -1) -> dict[str, str]:
    found: dict[str, str] = fake.server.received[index].json()["markdown"]
    return found


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    with fake_dingtalk(TOKEN, secret=SECRET) as made:
        yield made


class TestDingTalkContract(ChannelContract):
    @pytest.fixture
    def case(self) -> Iterator[ChannelCase]:
        with fake_dingtalk(TOKEN, secret=SECRET, keywords=("监控",)) as fake:

            def make(url: str, **extra: Any) -> Channel:
                return DingTalkChannel(DingTalkSettings(url=url, secret=SECRET, keyword="监控", **extra))

            def slow() -> Channel:
                fake.server.delay = 1.0
                return make(fake.webhook, timeout_seconds=0.2)

            def seen(body: bytes) -> str:
                sent = json.loads(body)["markdown"]
                return html.unescape(sent["title"] + "\n" + sent["text"])

            yield ChannelCase(
                secrets=(TOKEN, SECRET),
                max_bytes=MAX_TEXT_BYTES + 1_000,
                channel=lambda: make(fake.webhook),
                unreachable=lambda: make(f"http://127.0.0.1:{free_port()}/robot/send?access_token={TOKEN}"),
                slow=slow,
                fail_next=lambda temporary: fake.server.answers.append(
                    Answer(200, TOO_FAST if temporary else KEYWORDS)
                ),
                delivered=lambda: [r.body for r in fake.server.received],
                text=seen,
                settle=1.0,
            )


async def test_sends_a_signed_markdown_message(fake: FakeDingTalk) -> None:
    assert (await send(channel(fake))).ok
    [request] = fake.server.received
    assert request.path == "/robot/send" and request.query["access_token"] == TOKEN
    assert request.query["timestamp"].isdigit() and request.query["sign"]
    assert request.headers["Content-Type"].startswith("application/json")
    body = request.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "[FIRING:2] Disk 1 full (+2 more)"
    text = body["markdown"]["text"]
    assert "Disk 1 full" in text and "Disk 2 full" in text and "[RESOLVED] Disk 100 full" in text
    assert "(http://alerts.example/api/v1/alerts/1)" in text
    assert body["at"] == {"atMobiles": [], "atUserIds": [], "isAtAll": False}


@pytest.mark.parametrize(
    ("code", "retry", "wait"),
    [
        (130101, True, 60.0),  # send too fast
        (410100, True, 60.0),
        (660026, True, 60.0),
        (-1, True, None),  # system busy
        (310000, False, None),  # keywords, signature, IP allow-list
        (300001, False, None),  # token
        (400102, False, None),  # robot disabled
        (40035, False, None),  # missing parameter
    ],
)
async def test_an_errcode_inside_http_200_is_a_failure(
    fake: FakeDingTalk, code: int, retry: bool, wait: float | None
) -> None:
    fake.server.answers.append(Answer(200, {"errcode": code, "errmsg": "refused"}))
    delivery = await send(channel(fake))
    assert (delivery.ok, delivery.retry, delivery.retry_after) == (False, retry, wait)
    assert delivery.error == f"DingTalk error {code}: refused"


@pytest.mark.parametrize(
    ("status", "retry", "wait"),
    [(503, True, 7.0), (500, True, None), (429, True, 7.0), (400, False, None), (404, False, None)],
)
async def test_http_failures(fake: FakeDingTalk, status: int, retry: bool, wait: float | None) -> None:
    fake.server.answers.append(Answer(status, '{"errcode": -1, "errmsg": "no"}', headers={"Retry-After": "7"}))
    delivery = await send(channel(fake))
    assert (delivery.ok, delivery.retry, delivery.retry_after) == (False, retry, wait)
    assert delivery.error.startswith(f"HTTP {status}")


async def test_a_200_without_an_errcode_is_not_delivered(fake: FakeDingTalk) -> None:
    fake.server.answers.append(Answer(200, "<html>proxy login</html>"))
    delivery = await send(channel(fake))
    assert (delivery.ok, delivery.retry) == (False, False) and "without its result code" in delivery.error


async def test_the_fake_checks_the_signature(fake: FakeDingTalk) -> None:
    wrong = DingTalkChannel(DingTalkSettings(url=fake.webhook, secret="SECnot-the-robots"))
    delivery = await send(wrong)
    assert (delivery.ok, delivery.retry) == (False, False) and "sign not match" in delivery.error
    unsigned = DingTalkChannel(DingTalkSettings(url=fake.webhook))
    assert not (await send(unsigned)).ok
    assert fake.server.received == []


async def test_a_signature_with_plus_signs_is_url_encoded(fake: FakeDingTalk) -> None:
    stamp = next(ms for ms in itertools.count(int(time.time() * 1000)) if "+" in expected_sign(SECRET, str(ms)))
    signed = DingTalkChannel(DingTalkSettings(url=fake.webhook, secret=SECRET), clock=lambda: stamp / 1000)
    assert (await send(signed)).ok
    assert fake.server.received[0].query == {
        "access_token": TOKEN,
        "timestamp": str(stamp),
        "sign": expected_sign(SECRET, str(stamp)),
    }


@pytest.mark.parametrize(("skew", "ok"), [(-1800, True), (1800, True), (-7200, False), (7200, False)])
async def test_the_timestamp_must_be_within_an_hour(fake: FakeDingTalk, skew: float, ok: bool) -> None:
    skewed = DingTalkChannel(DingTalkSettings(url=fake.webhook, secret=SECRET), clock=lambda: time.time() + skew)
    delivery = await send(skewed)
    assert delivery.ok is ok and (ok or "invalid timestamp" in delivery.error)


async def test_the_keyword_is_added_when_the_text_lacks_it() -> None:
    with fake_dingtalk(TOKEN, keywords=("监控",)) as fake:
        refused = await send(channel(fake))
        assert (refused.ok, refused.retry) == (False, False) and "keywords not in content" in refused.error
        assert (await send(channel(fake, keyword="监控"))).ok
        assert markdown(fake)["text"].endswith("\n\n监控")
    with fake_dingtalk(TOKEN, keywords=("Disk",)) as fake:
        assert (await send(channel(fake, keyword="Disk"))).ok  # already in the text: not added again
        assert markdown(fake)["text"].endswith("</font>")


def with_severity(sent: Message, severity: str) -> Message:
    return replace(sent, firing=[replace(a, severity=severity) for a in sent.firing])


async def test_mentions_on_firing_alerts_and_everyone_only_for_critical(fake: FakeDingTalk) -> None:
    people = {"at_mobiles": ["13800000000"], "at_user_ids": ["manager01"], "at_all": True}
    assert (await send(channel(fake, **people), message(1, 0))).ok
    body = fake.server.received[-1].json()
    assert body["at"] == {"atMobiles": ["13800000000"], "atUserIds": ["manager01"], "isAtAll": True}
    assert body["markdown"]["text"].endswith("\n\n@13800000000 @manager01")

    assert (await send(channel(fake, **people), with_severity(message(1, 0), "warning"))).ok
    assert fake.server.received[-1].json()["at"]["isAtAll"] is False

    assert (await send(channel(fake, **people), message(0, 2))).ok  # resolved only: nobody is called
    body = fake.server.received[-1].json()
    assert body["at"] == {"atMobiles": [], "atUserIds": [], "isAtAll": False} and "@138" not in body["markdown"]["text"]


async def test_hostile_alert_text_is_delivered_as_text(fake: FakeDingTalk) -> None:
    assert (await send(channel(fake), message(1, 0, title=HOSTILE_TITLE, description="{{ 7*7 }} **x**"))).ok
    sent = markdown(fake)
    for live in ("<script", "[click](", "*bold*", "<!channel>", "**x**"):
        assert live not in sent["text"]
    assert HOSTILE_TITLE in html.unescape(sent["text"]) and "{{ 7*7 }} **x**" in html.unescape(sent["text"])
    assert "&#91;click&#93;(http://evil.example)" in sent["text"] and "&lt;script&gt;" in sent["text"]
    assert sent["title"] == f"[FIRING:1] {HOSTILE_TITLE}"[:100]  # the title is plain text to DingTalk


async def test_a_storm_lists_fewer_alerts_and_says_how_many_more(fake: FakeDingTalk) -> None:
    big = message(300, 0, description="磁盘写满 " * 200)
    assert (await send(channel(fake, max_alerts=0), big)).ok
    text = markdown(fake)["text"]
    assert len(text.encode()) <= MAX_TEXT_BYTES
    shown = text.count("[CRITICAL]")
    assert 1 < shown < 300 and f"... and {300 - shown} more alerts not shown" in text
    assert (await send(channel(fake), message(30, 0))).ok  # max_alerts 20 by default
    assert markdown(fake)["text"].count("[CRITICAL]") == 20 and "10 more alerts not shown" in markdown(fake)["text"]


async def test_one_huge_alert_is_cut_at_a_character(fake: FakeDingTalk, tmp_path: Path) -> None:
    # A template of the user's own that prints a description whole.
    (tmp_path / "en" / "dingtalk").mkdir(parents=True)
    (tmp_path / "en" / "dingtalk" / "text.dingtalk").write_text("{{ alerts[0].description }}", encoding="utf-8")
    settings = DingTalkSettings(url=fake.webhook, secret=SECRET, at_mobiles=["13800000000"], keyword="监控")
    made = DingTalkChannel(settings, templates=Templates(tmp_path))
    assert (await send(made, message(1, 0, description="告警🔥&*" * 4000))).ok
    text = markdown(fake)["text"]
    assert len(text.encode()) <= MAX_TEXT_BYTES
    assert text.endswith("…\n\n@13800000000\n\n监控")
    assert not re.search(r"&#?\w*…", text)  # no character reference cut in two
    assert html.unescape(text).startswith("告警🔥&*告警🔥&*")


async def test_digest_and_chinese_templates(fake: FakeDingTalk) -> None:
    assert (await send(channel(fake, language="zh"), replace(message(2, 1), merged=5))).ok
    sent = markdown(fake)
    assert sent["title"] == "[告警 2] Disk 1 full 等 3 条"
    assert "### 🔥 2 条告警触发中，1 条已恢复" in sent["text"] and "[严重] Disk 1 full" in sent["text"]  # noqa: RUF001
    assert "告警风暴保护：5 条通知已合并为本条摘要" in sent["text"] and "✅ **[已恢复] Disk 100 full**" in sent["text"]  # noqa: RUF001
    assert "[查看告警详情](http://alerts.example/api/v1/alerts/1)" in sent["text"]
    assert (await send(channel(fake), message(0, 1))).ok
    assert markdown(fake)["title"] == "[RESOLVED] Disk 100 full" and "✅ 1 resolved" in markdown(fake)["text"]


async def test_preview_renders_without_sending(fake: FakeDingTalk) -> None:
    made = channel(fake, at_mobiles=["13800000000"])
    shown = made.preview(message(1, 0))
    assert set(shown) == {"title", "text"} and shown["text"].endswith("@13800000000")
    assert fake.server.requests == []
    await made.close()


@pytest.mark.parametrize(
    ("settings", "where", "says"),
    [
        ({"url": "https://oapi.dingtalk.com/robot/send"}, ("url",), "has no access_token"),
        ({"url": "oapi.dingtalk.com/robot/send?access_token=x"}, ("url",), "https:// URL"),
        ({"secret": "d1ngtalk"}, ("secret",), 'start with "SEC"'),
        ({"at_mobiles": ["138 0000"]}, ("at_mobiles",), "'138 0000' is not a mobile number"),
        ({"at_user_ids": ["a b"]}, ("at_user_ids",), "is not a DingTalk user id"),
        ({"keyword": "two\nlines"}, ("keyword",), "one line"),
        ({"language": "fr"}, ("language",), "'en' or 'zh'"),
        ({"token": "x"}, ("token",), "Extra inputs are not permitted"),
    ],
)
def test_settings_say_what_is_wrong(settings: dict[str, Any], where: tuple[str, ...], says: str) -> None:
    problems = check_settings(
        "dingtalk", {"url": f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}", **settings}
    )
    assert [p[0] for p in problems] == [where] and says in problems[0][1]
    assert TOKEN not in problems[0][1]


def test_settings_hide_secrets_and_default_to_twenty_a_minute() -> None:
    made = build("dingtalk", {"url": f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}", "secret": SECRET})
    assert isinstance(made, DingTalkChannel)
    assert made.settings.per_minute == 20 and made.settings.language is None
    assert TOKEN not in repr(made.settings) and SECRET not in repr(made.settings)


def test_the_environment_makes_a_dingtalk_receiver() -> None:
    url = f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}"
    found = [
        r for r in env_receivers(Settings(dingtalk_webhook_url=url, dingtalk_secret=SECRET)) if r["type"] == "dingtalk"
    ]
    assert found == [{"name": "dingtalk", "type": "dingtalk", "settings": {"url": url, "secret": SECRET}}]
    made = build("dingtalk", found[0]["settings"])
    assert isinstance(made.settings, DingTalkSettings) and made.settings.secret is not None
    unsigned = [r for r in env_receivers(Settings(dingtalk_webhook_url=url)) if r["type"] == "dingtalk"]
    assert unsigned[0]["settings"] == {"url": url}
    assert not [r for r in env_receivers(Settings()) if r["type"] == "dingtalk"]
