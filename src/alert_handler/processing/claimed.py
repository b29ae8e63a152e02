"""Notifications leased to one sender, with the alerts they are about: what `deliver.send` takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Claimed:
    notifications: list[dict[str, Any]] = field(default_factory=list)
    alerts: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Per group id: what its receiver's service answered to the group's first message.
    threads: dict[int, dict[str, str]] = field(default_factory=dict)

    def __iadd__(self, other: Claimed) -> Claimed:
        self.notifications += other.notifications
        self.alerts.update(other.alerts)
        self.threads.update(other.threads)
        return self
