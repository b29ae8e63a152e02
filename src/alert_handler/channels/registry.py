"""Channel types by name: the built-ins plus any installed under the entry point group
`alert_handler.channels` (a third party adds one without touching this file)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol, cast

from pydantic import ValidationError

from alert_handler.channels.aliyun_sms import AliyunSmsChannel
from alert_handler.channels.apprise import AppriseChannel
from alert_handler.channels.base import Channel, ChannelSettings
from alert_handler.channels.dingtalk import DingTalkChannel
from alert_handler.channels.email import EmailChannel
from alert_handler.channels.feishu import FeishuChannel
from alert_handler.channels.log import LogChannel
from alert_handler.channels.opsgenie import OpsgenieChannel
from alert_handler.channels.pagerduty import PagerDutyChannel
from alert_handler.channels.slack import SlackChannel
from alert_handler.channels.teams import TeamsChannel
from alert_handler.channels.telegram import TelegramChannel
from alert_handler.channels.twilio import TwilioChannel
from alert_handler.channels.webhook import WebhookChannel
from alert_handler.channels.wecom import WeComChannel

ENTRY_POINT_GROUP = "alert_handler.channels"


class ChannelFactory(Protocol):
    name: str
    Settings: type[ChannelSettings]

    def __call__(self, settings: Any) -> Channel: ...


BUILTIN: dict[str, ChannelFactory] = {
    "aliyun_sms": cast(ChannelFactory, AliyunSmsChannel),
    "apprise": cast(ChannelFactory, AppriseChannel),
    "dingtalk": cast(ChannelFactory, DingTalkChannel),
    "email": cast(ChannelFactory, EmailChannel),
    "feishu": cast(ChannelFactory, FeishuChannel),
    "log": cast(ChannelFactory, LogChannel),
    "opsgenie": cast(ChannelFactory, OpsgenieChannel),
    "pagerduty": cast(ChannelFactory, PagerDutyChannel),
    "slack": cast(ChannelFactory, SlackChannel),
    "teams": cast(ChannelFactory, TeamsChannel),
    "telegram": cast(ChannelFactory, TelegramChannel),
    "twilio": cast(ChannelFactory, TwilioChannel),
    "webhook": cast(ChannelFactory, WebhookChannel),
    "wecom": cast(ChannelFactory, WeComChannel),
}


@cache
def channel_types() -> Mapping[str, ChannelFactory]:
    found = dict(BUILTIN)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(point.name, point.load())
    return found


def check_settings(channel_type: str, settings: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems with a receiver's settings, as (path inside `settings`, message); empty when valid."""
    factory = channel_types().get(channel_type)
    if factory is None:
        return [((), f"unknown channel type {channel_type!r}")]
    try:
        factory.Settings.model_validate(dict(settings))
    except ValidationError as exc:
        return [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
    return []


def build(channel_type: str, settings: Mapping[str, Any]) -> Channel:
    factory = channel_types()[channel_type]
    return factory(factory.Settings.model_validate(dict(settings)))
