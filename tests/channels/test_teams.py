"""The teams channel against a fake Workflows webhook (tests/channels/fakes/teams.py): the
envelope and card, the answers Teams gives, markdown-free alert text, the 28 KB limit, preview
and settings."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alert_handler.channels.base import Channel, Delivery, Message
from alert_handler.channels.registry import BUILTIN, check_settings
from alert_handler.channels.teams import TeamsChannel, TeamsSettings
from alert_handler.templates import Templates
from tests.channels.contract import ChannelCase, ChannelContract
from tests.channels.factory import HOSTILE_TITLE, message
from tests.channels.fakes.fake_server import Answer, serving
from tests.channels.fakes.teams import CARD_TYPE, PATH, QUERY, SIG, FakeTeams, azure_error, legacy_failure, render
from tests.conftest import free_port


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    with serving(FakeTeams()) as fake:
        yield fake


def channel(url: str, templates: Templates | None = None, **extra: Any) -> TeamsChannel:
    return TeamsChannel(TeamsSettings.model_validate({"url": url, **extra}), templates=templates or Templates())


async def send(made: TeamsChannel, sent: Message | None = None) -> Delivery:
    try:
        return await made.send(sent or message())
    finally:
        await made.close()


def card_of(body: bytes) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(body)["attachments"][0]["content"]
    return found


def seen(body: bytes) -> str:
    return "\n".join(text for _, text in render(card_of(body)))


class TestTeamsContract(ChannelContract):
    @pytest.fixture
    def case(self, teams: FakeTeams) -> ChannelCase:
        def slow() -> Channel:
            teams.delay = 1.0
            return channel(teams.workflow_url, timeout_seconds=0.2)

        return ChannelCase(
            secrets=(SIG,),
            max_bytes=28_000,
            channel=lambda: channel(teams.workflow_url),
            unreachable=lambda: channel(f"http://127.0.0.1:{free_port()}{PATH}?{QUERY}"),
            slow=slow,
            fail_next=lambda temporary: teams.answers.append(
                azure_error(429, "WorkflowRequestsThrottled", "Too many requests.")
                if temporary
                else azure_error(400, "InvalidRequestContent", "bad card")
            ),
            delivered=lambda: [r.body for r in teams.delivered],
            text=seen,
            settle=1.0,
        )


async def test_posts_an_adaptive_card_in_the_message_envelope(teams: FakeTeams) -> None:
    assert await send(channel(teams.workflow_url)) == Delivery.sent()
    [request] = teams.delivered
    assert request.path == f"{PATH}?{QUERY}" and request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert body["type"] == "message" and len(body["attachments"]) == 1
    attachment = body["attachments"][0]
    assert (attachment["contentType"], attachment["contentUrl"]) == (CARD_TYPE, None)
    card = attachment["content"]
    assert (card["$schema"], card["type"], card["version"]) == (
        "http://adaptivecards.io/schemas/adaptive-card.json",
        "AdaptiveCard",
        "1.4",
    )
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open alert-handler", "url": "http://alerts.example"}
    ]
    texts = [text for _, text in teams.shown[0]]
    assert texts[:3] == ["🔥 FIRING: 2", " alertname=DiskFull", "2 firing, 1 resolved · receiver ops"]
    assert "✅ RESOLVED " in texts and "  Open alert" in texts


async def test_one_alert_links_to_its_page(teams: FakeTeams) -> None:
    assert (await send(channel(teams.workflow_url), message(1, 0))).ok
    actions = teams.delivered[0].json()["attachments"][0]["content"]["actions"]
    assert actions[0] == {
        "type": "Action.OpenUrl",
        "title": "Open alert",
        "url": "http://alerts.example/api/v1/alerts/1",
    }


@pytest.mark.parametrize(
    ("answer", "ok", "retry"),
    [
        (Answer(202), True, False),
        (Answer(200), True, False),
        (Answer.of_text(200, "1"), True, False),
        (legacy_failure(400), False, False),
        (legacy_failure(413), False, False),
        (legacy_failure(429), False, True),
        (legacy_failure(502), False, True),
        (Answer(204), False, False),
        (azure_error(400, "InvalidRequestContent", "The request content is not valid."), False, False),
        (azure_error(404, "WorkflowNotFound", "The workflow could not be found."), False, False),
        (azure_error(409, "WorkflowTriggerIsNotEnabled", "The workflow is disabled."), False, False),
        (azure_error(500, "InternalServerError", "Try again."), False, True),
        (Answer.of_text(503, "Service Unavailable"), False, True),
    ],
)
async def test_answers_are_read_as_teams_means_them(teams: FakeTeams, answer: Answer, ok: bool, retry: bool) -> None:
    teams.answers.append(answer)
    delivery = await send(channel(teams.workflow_url))
    assert (delivery.ok, delivery.retry) == (ok, retry), delivery.error
    assert ok or delivery.error.startswith("Teams: HTTP")


async def test_throttling_waits_for_retry_after(teams: FakeTeams) -> None:
    teams.answers.append(Answer.of_json(429, {"error": {"code": "WorkflowRequestsThrottled"}}, **{"Retry-After": "12"}))
    delivery = await send(channel(teams.workflow_url))
    assert (delivery.ok, delivery.retry, delivery.retry_after) == (False, True, 12.0)


async def test_a_wrong_signature_or_workflow_is_refused_and_nothing_leaks(teams: FakeTeams) -> None:
    wrong_sig = await send(channel(teams.workflow_url.replace(SIG, "other-signature-value")))
    assert (wrong_sig.retry, "DirectApiInvalidAuthorizationSignature" in wrong_sig.error) == (False, True)
    gone = await send(channel(teams.workflow_url.replace("0a1b2c3d4e5f", "ffffffffffff")))
    assert (gone.retry, "WorkflowNotFound" in gone.error) == (False, True)
    teams.answers.append(Answer.of_text(400, f"bad request to {PATH}?{QUERY}"))
    echoed = await send(channel(teams.workflow_url))
    for error in (wrong_sig.error, gone.error, echoed.error):
        assert SIG not in error and "other-signature-value" not in error
    assert teams.delivered == []


async def test_alert_text_never_lands_where_markdown_renders(teams: FakeTeams) -> None:
    hostile = HOSTILE_TITLE + ' "quoted", \\ ], "type": "Action.Submit'
    assert (await send(channel(teams.workflow_url), message(2, 0, title=hostile, description=hostile))).ok
    shown = teams.shown[0]
    assert ("text", hostile) in shown  # the title, as a TextRun: shown as written
    assert all("evil" not in text and "{{" not in text for kind, text in shown if kind == "markdown")
    assert "<class" not in seen(teams.delivered[0].body)


async def test_a_huge_message_drops_alerts_to_fit_28_kb(teams: FakeTeams) -> None:
    huge = message(600, 0, title="磁盘已满 " * 100, description="描述" * 20_000)
    assert (await send(channel(teams.workflow_url, language="zh"), huge)).ok
    body = teams.delivered[0].body
    texts = [text for _, text in teams.shown[0]]
    listed = texts.count("  查看告警")
    assert len(body) <= 28_000 and 0 < listed < 20
    assert f"另有 {600 - listed} 条告警未列出" in texts


async def test_a_card_too_large_without_alerts_has_its_texts_cut(teams: FakeTeams) -> None:
    giant = dataclasses.replace(message(2, 0), group_labels={"cluster": "数" * 40_000})
    assert (await send(channel(teams.workflow_url), giant)).ok
    body = teams.delivered[0].body
    assert len(body) <= 28_000 and any(text.endswith("…") for _, text in teams.shown[0])
    assert card_of(body)["actions"][0]["url"] == "http://alerts.example"


async def test_a_template_that_makes_no_card_is_not_retried(teams: FakeTeams, tmp_path: Path) -> None:
    (tmp_path / "en" / "teams").mkdir(parents=True)
    (tmp_path / "en" / "teams" / "card.json").write_text('{"type": "message", "text": {{ status }}}')
    wrong = await send(channel(teams.workflow_url, Templates(tmp_path)))
    assert (wrong.ok, wrong.retry) == (
        False,
        False,
    ) and 'must make an object with "type": "AdaptiveCard"' in wrong.error
    (tmp_path / "en" / "teams" / "card.json").write_text('{"type": "AdaptiveCard", ')
    broken = await send(channel(teams.workflow_url, Templates(tmp_path)))
    assert (broken.ok, broken.retry) == (False, False) and "card.json made no valid JSON" in broken.error


async def test_chinese_card(teams: FakeTeams) -> None:
    digest = dataclasses.replace(message(0, 2), merged=6)
    assert (await send(channel(teams.workflow_url, language="zh"), digest)).ok
    texts = [text for _, text in teams.shown[0]]
    assert texts[:3] == ["✅ 已恢复", " alertname=DiskFull", "已恢复 2 条 · 接收者 ops"]
    assert any("告警风暴保护把 6 条通知合并为这一条" in text for text in texts)


async def test_preview_renders_without_sending(teams: FakeTeams) -> None:
    made = channel(teams.workflow_url)
    body = json.loads(made.preview(message(1, 0))["body"])
    await made.close()
    assert body["attachments"][0]["content"]["type"] == "AdaptiveCard" and teams.delivered == []


@pytest.mark.parametrize(
    ("settings", "where", "says"),
    [
        ({}, ("url",), "Field required"),
        ({"url": "ftp://x/workflows?sig=s3cret"}, ("url",), "http:// or https://"),
        ({"url": "https://x/w", "max_alerts": 0}, ("max_alerts",), "greater than or equal to 1"),
        ({"url": "https://x/w", "language": "fr"}, ("language",), "'en' or 'zh'"),
    ],
)
def test_settings_say_what_is_wrong(settings: dict[str, Any], where: tuple[str, ...], says: str) -> None:
    [(found, problem)] = check_settings("teams", settings)
    assert found == where and says in problem


def test_settings_keep_the_url_secret() -> None:
    with pytest.raises(ValueError) as raised:
        TeamsSettings.model_validate({"url": "ftp://x/workflows?sig=s3cret"})
    assert "s3cret" not in str(raised.value)
    made = TeamsSettings(url=f"https://x{PATH}?{QUERY}")
    assert SIG not in repr(made) and made.per_minute == 30
    assert BUILTIN["teams"] is TeamsChannel
