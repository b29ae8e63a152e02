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
