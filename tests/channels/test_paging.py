"""PagerDuty and Opsgenie against fake servers that speak their APIs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from alert_handler.channels.base import Channel
from alert_handler.channels.opsgenie import OpsgenieChannel, OpsgenieSettings
from alert_handler.channels.pagerduty import PagerDutyChannel, PagerDutySettings
from alert_handler.channels.registry import check_settings
from tests.channels.contract import ChannelCase, ChannelContract
from tests.channels.factory import message
from tests.channels.fakes.fake_server import Answer, serving
from tests.channels.fakes.paging import GENIE_KEY, ROUTING_KEY, FakeOpsgenie, FakePagerDuty, og_error, pd_invalid
from tests.conftest import free_port


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    with serving(FakePagerDuty()) as fake:
        yield fake


@pytest.fixture
def opsgenie() -> Iterator[FakeOpsgenie]:
    with serving(FakeOpsgenie()) as fake:
        yield fake


def pd(url: str, **extra: Any) -> PagerDutyChannel:
    return PagerDutyChannel(PagerDutySettings.model_validate({"routing_key": ROUTING_KEY, "url": url, **extra}))


def og(url: str, **extra: Any) -> OpsgenieChannel:
    return OpsgenieChannel(OpsgenieSettings.model_validate({"api_key": GENIE_KEY, "api_url": url, **extra}))


class TestPagerDutyContract(ChannelContract):
    @pytest.fixture
    def case(self, pagerduty: FakePagerDuty) -> ChannelCase:
        def slow() -> Channel:
            pagerduty.delay = 1.0
            return pd(f"{pagerduty.url}/v2/enqueue", timeout_seconds=0.2)

        return ChannelCase(
            secrets=(ROUTING_KEY,),
            max_bytes=512 * 1024,
            channel=lambda: pd(f"{pagerduty.url}/v2/enqueue"),
            unreachable=lambda: pd(f"http://127.0.0.1:{free_port()}/v2/enqueue"),
            slow=slow,
            fail_next=lambda temporary: pagerduty.answers.append(
                Answer.of_json(500, {"status": "error"}) if temporary else pd_invalid("'payload.summary' is missing")
            ),
            delivered=lambda: [r.body for r in pagerduty.delivered],
            text=lambda body: json.dumps(json.loads(body), ensure_ascii=False),
            settle=1.0,
        )


class TestOpsgenieContract(ChannelContract):
    @pytest.fixture
    def case(self, opsgenie: FakeOpsgenie) -> ChannelCase:
        def slow() -> Channel:
            opsgenie.delay = 1.0
            return og(opsgenie.url, timeout_seconds=0.2)

        return ChannelCase(
            secrets=(GENIE_KEY,),
            max_bytes=64 * 1024,
            channel=lambda: og(opsgenie.url),
            unreachable=lambda: og(f"http://127.0.0.1:{free_port()}"),
            slow=slow,
            fail_next=lambda temporary: opsgenie.answers.append(
                og_error(503, "unavailable") if temporary else og_error(422, "Message can not be empty.")
            ),
            delivered=lambda: [r.body for r in opsgenie.delivered],
            text=lambda body: json.dumps(json.loads(body), ensure_ascii=False),
            settle=1.0,
        )


# --- PagerDuty


async def test_pagerduty_triggers_then_resolves_one_incident_per_group(pagerduty: FakePagerDuty) -> None:
    channel = pd(f"{pagerduty.url}/v2/enqueue")
    firing = message(2, 0)
    result = await channel.send(firing)
    assert result.ok and result.reply == {"dedup_key": firing.group_hash}
    event = pagerduty.delivered[0].json()
    assert event["event_action"] == "trigger" and event["client"] == "alert-handler"
    assert event["payload"]["severity"] == "critical" and event["payload"]["source"] == "h1"
    assert event["payload"]["summary"].startswith("[FIRING:2] Disk 1 full")
    assert len(event["payload"]["custom_details"]["alerts"]) == 2
    assert event["links"][0]["href"] == "http://alerts.example/api/v1/alerts/1"
    assert (await channel.send(message(0, 2))).ok
    assert pagerduty.incidents == {firing.group_hash: "resolved"}


async def test_pagerduty_maps_high_to_error_and_honours_an_override(pagerduty: FakePagerDuty) -> None:
    high = message(1, 0)
    high = replace(high, firing=[replace(high.firing[0], severity="high")])
    assert (await pd(f"{pagerduty.url}/v2/enqueue").send(high)).ok
    assert (await pd(f"{pagerduty.url}/v2/enqueue", severity="warning").send(high)).ok
    assert [r.json()["payload"]["severity"] for r in pagerduty.delivered] == ["error", "warning"]


async def test_pagerduty_invalid_event_is_not_retried_and_rate_limit_waits(pagerduty: FakePagerDuty) -> None:
    pagerduty.answers.append(pd_invalid("'payload.summary' is missing or blank"))
    result = await pd(f"{pagerduty.url}/v2/enqueue").send(message())
    assert (result.ok, result.retry) == (False, False) and "invalid event" in result.error
    pagerduty.answers.append(Answer.of_json(429, {"status": "throttle"}))
    result = await pd(f"{pagerduty.url}/v2/enqueue").send(message())
    assert (result.ok, result.retry, result.retry_after) == (False, True, 60.0)


async def test_pagerduty_a_huge_group_lists_fewer_alerts(pagerduty: FakePagerDuty) -> None:
    assert (await pd(f"{pagerduty.url}/v2/enqueue", max_alerts=1000).send(message(900, 0, description="x" * 2000))).ok
    event = pagerduty.delivered[0].json()
    assert len(pagerduty.delivered[0].body) <= 512 * 1024
    assert event["payload"]["custom_details"]["not_listed"] > 0


async def test_pagerduty_a_wrong_key_is_refused(pagerduty: FakePagerDuty) -> None:
    channel = PagerDutyChannel(
        PagerDutySettings.model_validate({"routing_key": "nope", "url": f"{pagerduty.url}/v2/enqueue"})
    )
    result = await channel.send(message())
    assert (result.ok, result.retry) == (False, False) and "routing_key" in result.error


# --- Opsgenie


async def test_opsgenie_creates_an_alert_per_group_and_closes_it(opsgenie: FakeOpsgenie) -> None:
    channel = og(opsgenie.url, responders=[{"type": "team", "name": "ops"}], tags=["prod"])
    firing = message(2, 0)
    assert (await channel.send(firing)).ok
    [created] = opsgenie.created
    assert created["alias"] == firing.group_hash and created["priority"] == "P1"
    assert created["responders"] == [{"type": "team", "name": "ops"}] and created["tags"] == ["prod"]
    assert created["details"] == {"alertname": "DiskFull"}
    assert "Disk 1 full" in created["description"] and len(created["message"]) <= 130
    assert (await channel.send(message(0, 2))).ok
    assert opsgenie.open_aliases == set()
    assert opsgenie.delivered[-1].path == f"/v2/alerts/{firing.group_hash}/close?identifierType=alias"


async def test_opsgenie_closing_what_is_not_open_is_done(opsgenie: FakeOpsgenie) -> None:
    assert (await og(opsgenie.url).send(message(0, 1))).ok


async def test_opsgenie_a_wrong_key_is_not_retried_and_429_waits(opsgenie: FakeOpsgenie) -> None:
    bad = OpsgenieChannel(OpsgenieSettings.model_validate({"api_key": "wrong", "api_url": opsgenie.url}))
    result = await bad.send(message())
    assert (result.ok, result.retry) == (False, False) and "401" in result.error
    opsgenie.answers.append(og_error(429, "Too many requests"))
    opsgenie.answers[-1].headers["Retry-After"] = "12"
    result = await og(opsgenie.url).send(message())
    assert (result.ok, result.retry, result.retry_after) == (False, True, 12.0)


def test_opsgenie_responders_need_one_identity() -> None:
    problems = check_settings("opsgenie", {"api_key": "k", "responders": [{"type": "team"}]})
    assert problems and problems[0][0][:2] == ("responders", 0)
