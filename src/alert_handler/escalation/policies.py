"""When each step of an escalation policy is due, counted from the moment the alert fired.

Steps run in order of `after`; with `repeat: N` the whole list runs N more times, each round
starting where the previous one's last step left off (round r's step s is due at
r * last_after + step.after, so a 5m/15m policy repeats at 20m and 30m).
A step index counts across rounds: index = round * len(steps) + step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alert_handler.routing.models import EscalationPolicy


@dataclass(frozen=True, slots=True)
class DueStep:
    index: int
    due_at: datetime
    receivers: tuple[str, ...]


def step_at(policy: EscalationPolicy, fired_at: datetime, index: int) -> DueStep | None:
    """Step `index` of `policy` for an alert that fired at `fired_at`; None past the last one."""
    per_round = len(policy.steps)
    round_, position = divmod(index, per_round)
    if round_ > policy.repeat:
        return None
    step = policy.steps[position]
    round_length = policy.steps[-1].after
    return DueStep(index, fired_at + round_length * round_ + step.after, tuple(step.receivers))
