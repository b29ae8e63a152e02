"""Secret masking of receiver settings, whatever channel they belong to."""

from __future__ import annotations

from alert_handler.api.config_views import mask, restore_masked


def test_secret_looking_keys_are_masked_at_any_depth() -> None:
    settings = {
        "password": "hunter2",
        "slack_webhook_url": "https://hooks.slack.com/services/T0/B0/abc123",
        "api_key": "",
        "nested": [{"token": "t0k3n", "channel": "#ops"}],
        "smtp_server": "mail.example",
    }
    assert mask(settings) == {
        "password": "********",
        "slack_webhook_url": "********",
        "api_key": "",
        "nested": [{"token": "********", "channel": "#ops"}],
        "smtp_server": "mail.example",
    }


def test_masked_values_sent_back_keep_the_stored_secret() -> None:
    old = {"password": "hunter2", "user": "ann"}
    assert restore_masked({"password": "********", "user": "bob"}, old) == {"password": "hunter2", "user": "bob"}


def test_every_setting_a_channel_declares_secret_is_masked_whatever_its_name() -> None:
    from alert_handler.api.config_views import MASK, shown

    feishu = {
        "name": "fs", "type": "feishu",
        "settings": {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/t0ken-in-the-path", "language": "zh"},
    }  # fmt: skip
    apprise = {"name": "ap", "type": "apprise", "settings": {"urls": ["ntfys://ntfy.example/t0ken-topic"]}}
    opsgenie = {"name": "og", "type": "opsgenie", "settings": {"api_key": "k3y", "tags": ["prod"]}}
    assert shown("receivers", feishu)["settings"] == {"url": f"https://open.feishu.cn/{MASK}", "language": "zh"}
    assert shown("receivers", apprise)["settings"] == {"urls": [f"ntfys://ntfy.example/{MASK}"]}
    assert shown("receivers", opsgenie)["settings"] == {"api_key": MASK, "tags": ["prod"]}
    sent_back = shown("receivers", feishu)
    sent_back["settings"] = {**sent_back["settings"], "language": "en"}
    restored = restore_masked(sent_back, feishu, shown("receivers", feishu))
    assert restored["settings"] == {"url": feishu["settings"]["url"], "language": "en"}
