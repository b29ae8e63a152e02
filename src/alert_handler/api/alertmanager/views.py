"""Stored alerts as Alertmanager's API v2 shows them, and its filters; pure functions over rows.

- `status.state`: `unprocessed` until processing first looked at the alert; then `suppressed`
  when something holds it (`silencedBy`: silence ids; `inhibitedBy`: fingerprints of the
  inhibiting alerts; a rule's `suppress` shows as `suppressed` with both empty), else `active`.
  A repeat that waits for processing keeps the state processing gave it.
- `receivers`: where processing sent it; before that, where the routing tree would send it.
- Filters as Alertmanager's `GET /alerts`: `filter` matchers on the labels, `active`,
  `silenced`, `inhibited`, `unprocessed` (false leaves those out), and `receiver`, an anchored
  regular expression that one of the alert's receivers must match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alert_handler.api.alertmanager.schemas import GO_ZERO, AlertStatus, GettableAlert, Receiver
from alert_handler.domain.matchers import Matcher, MatcherError, matches_all, parse_matchers
from alert_handler.routing.tree import Route
from alert_handler.routing.view import match_labels


class FilterError(ValueError):
    """A filter or receiver parameter that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class AlertFilter:
    matchers: Sequence[Matcher] = ()
    active: bool = True
    silenced: bool = True
    inhibited: bool = True
    unprocessed: bool = True
    receiver: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, filters: Sequence[str], receiver: str | None, **states: bool) -> AlertFilter:
        matchers: list[Matcher] = []
        for text in filters:
            try:
                matchers += parse_matchers(text)
            except MatcherError as exc:
                raise FilterError(f"bad matcher format: {text}: {exc}") from exc
        pattern = None
        if receiver is not None:
            try:
                pattern = re.compile(f"^(?:{receiver})$")
            except re.error as exc:
                raise FilterError(f"failed to parse receiver param: {exc}") from exc
        return cls(matchers=matchers, receiver=pattern, **states)

    def keeps(self, alert: GettableAlert) -> bool:
        status = alert.status
        if not self.active and status.state == "active":
            return False
        if not self.unprocessed and status.state == "unprocessed":
            return False
        if not self.silenced and status.silencedBy:
            return False
        if not self.inhibited and status.inhibitedBy:
            return False
        if not self.receives(r.name for r in alert.receivers):
            return False
        return matches_all(list(self.matchers), alert.labels)

    def receives(self, names: Any) -> bool:
        return self.receiver is None or any(self.receiver.match(name) for name in names)


def status_of(row: Mapping[str, Any]) -> AlertStatus:
    if row["pending_since"] is not None and row["explanation"] is None:
        return AlertStatus(state="unprocessed", silencedBy=[], inhibitedBy=[])
    marks = row["suppressed_by"] or []
    silenced = [str(m["id"]) for m in marks if m.get("kind") == "silence"]
    inhibited = [str(m.get("source_fingerprint", m.get("id"))) for m in marks if m.get("kind") == "inhibition"]
    return AlertStatus(state="suppressed" if marks else "active", silencedBy=silenced, inhibitedBy=inhibited)


def receivers_of(row: Mapping[str, Any], tree: Route) -> list[str]:
    explanation = row["explanation"]
    if explanation is not None:
        names = [str(r["receiver"]) for r in explanation.get("routes", [])]
    else:
        labels = match_labels(row["labels"] or {}, row["severity"], row["source"], row["title"], row["tags"] or [])
        names = [m.receiver for m in tree.match(labels)]
    return list(dict.fromkeys(names))


def gettable(row: Mapping[str, Any], tree: Route) -> GettableAlert:
    return GettableAlert(
        labels=dict(row["labels"] or {}),
        annotations=dict(row["annotations"] or {}),
        startsAt=row["starts_at"],
        endsAt=row["ends_at"] or GO_ZERO,
        updatedAt=row["last_received_at"],
        generatorURL=row["generator_url"],
        fingerprint=row["fingerprint"],
        receivers=[Receiver(name=name) for name in receivers_of(row, tree)],
        status=status_of(row),
    )
