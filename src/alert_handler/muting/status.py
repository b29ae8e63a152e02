"""An alert's mute status: which silences and which inhibitions hold it, as Alertmanager reports them.

Alertmanager's `/api/v2/alerts` shows `status.state` (`active` or `suppressed`) with both
`silencedBy` and `inhibitedBy`: an alert can be held by several at once, and each is recorded.
Time intervals mute a route rather than an alert, so they are decided by `muted_by_time`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from alert_handler.muting.inhibit import Inhibition, InhibitionIndex
from alert_handler.muting.silences import Silence, silencing


@dataclass(frozen=True, slots=True)
class MuteStatus:
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[Inhibition, ...] = ()

    @property
    def muted(self) -> bool:
        return bool(self.silenced_by or self.inhibited_by)

    @property
    def state(self) -> str:
        """`suppressed` or `active`, Alertmanager's words for an alert's state."""
        return "suppressed" if self.muted else "active"


def mute_status(
    labels: Mapping[str, str], silences: Iterable[Silence], inhibitions: InhibitionIndex, now: datetime
) -> MuteStatus:
    """Everything that mutes the alert with `labels` at `now` (the index holds the firing alerts)."""
    return MuteStatus(tuple(silencing(silences, labels, now)), tuple(inhibitions.inhibited_by(labels)))
