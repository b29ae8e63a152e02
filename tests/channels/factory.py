"""Messages for channel tests."""

from __future__ import annotations

from datetime import UTC, datetime

from alert_handler.channels.base import Message, MessageAlert

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOSTILE_TITLE = "{{ ''.__class__ }} <script>alert(1)</script> *bold* [click](http://evil.example) <!channel>"


def alert(i: int, status: str = "firing", *, title: str = "", description: str = "") -> MessageAlert:
    annotations = {"summary": "full", **({"description": description} if description else {})}
    return MessageAlert(
        id=i, fingerprint=f"fp{i}", status=status, severity="critical", source="prometheus",
        title=title or f"Disk {i} full", description=description, labels={"alertname": "DiskFull", "host": f"h{i}"},
        annotations=annotations, tags=[], starts_at=T0, ends_at=T0 if status == "resolved" else None,
        generator_url="http://prom/graph", url=f"http://alerts.example/api/v1/alerts/{i}",
    )  # fmt: skip


def message(firing: int = 2, resolved: int = 1, *, title: str = "", description: str = "") -> Message:
    return Message(
        key="group:7:first", receiver="ops", kind="group", status="firing" if firing else "resolved",
        group_key="7", group_labels={"alertname": "DiskFull"},
        firing=[alert(i, title=title, description=description) for i in range(1, firing + 1)],
        resolved=[alert(100 + i, "resolved", title=title, description=description) for i in range(resolved)],
        external_url="http://alerts.example",
    )  # fmt: skip
