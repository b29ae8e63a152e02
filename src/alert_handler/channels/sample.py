"""The message a receiver test or preview sends: one firing alert that says what it is."""

from __future__ import annotations

from datetime import datetime

from alert_handler.channels.base import Message, MessageAlert


def sample_message(receiver: str, *, now: datetime, external_url: str = "") -> Message:
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    alert = MessageAlert(
        id=0, fingerprint="test", status="firing", severity="info", source="alert-handler",
        title="Test notification from alert-handler",
        description=f"Receiver {receiver!r} is set up: this is a test sent on request; nothing is wrong.",
        labels={"alertname": "TestNotification", "receiver": receiver}, annotations={"summary": "test notification"},
        tags=["test"], starts_at=now, ends_at=None, generator_url=None, url=external_url,
    )  # fmt: skip
    return Message(
        key=f"test:{receiver}:{stamp}", receiver=receiver, kind="group", status="firing", group_key=f"test:{receiver}",
        group_labels={"alertname": "TestNotification"}, firing=[alert], resolved=[], external_url=external_url,
    )  # fmt: skip
