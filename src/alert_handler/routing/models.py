"""The configuration file's model (pydantic v2), mirroring Alertmanager's where it has the concept.

    receivers            name, type (log, webhook, ...) and the channel's settings
    route                the routing tree: receiver, group_by, group_wait, group_interval,
                         repeat_interval, matchers, continue, routes, mute/active_time_intervals
    inhibit_rules        optional name, source_matchers, target_matchers, equal
    time_intervals       name and the time ranges (their inner shape belongs to muting/)
    rules                name, matchers, optional CEL expression, effects
    escalation_policies  name, steps (after, receivers), repeat
    integrations         inbound webhooks: name, type, auth, mapping (see `integrations.py`)

Unknown keys are errors. This module checks each object on its own; references between
objects (a route's receiver, a rule's escalation policy) are checked by `references.py`, and
`config.py` reads a file and names every problem by its path.
"""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import pairwise
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from alert_handler.domain.matchers import Matcher, MatcherError, parse_matcher, parse_matchers
from alert_handler.domain.severity import Severity, parse_severity
from alert_handler.routing.durations import DurationError, format_duration, parse_duration
from alert_handler.routing.integrations import Integration

GROUP_BY_ALL = "..."
DEFAULT_GROUP_WAIT = timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL = timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL = timedelta(hours=4)
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.\-]*")


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration: write it as text such as 30s, 5m or 4h")
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from exc


def _matcher(value: object) -> Matcher:
    if isinstance(value, Matcher):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a matcher: write it as text such as 'team=\"db\"'")
    try:
        if not value.strip().startswith("{"):
            return parse_matcher(value)
        # Alertmanager also accepts one matcher in braces: '{team="db"}'.
        found = parse_matchers(value)
        if len(found) != 1:
            raise MatcherError("write one matcher per list entry")
        return found[0]
    except MatcherError as exc:
        message = str(exc)
        prefix = f"{value!r} is not a matcher"
        raise ValueError(message if message.startswith(prefix) else f"{prefix}: {message}") from exc


def _severity(value: object) -> Severity:
    found = parse_severity(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"{value!r} is not a severity: expected one of {', '.join(s.value for s in Severity)}")
    return found


Duration = Annotated[
    timedelta,
    PlainValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["30s", "5m", "4h"]}),
]
MatcherField = Annotated[
    Matcher,
    PlainValidator(_matcher),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ['team="db"']}),
]
SeverityField = Annotated[Severity, BeforeValidator(_severity)]
Name = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Receiver(_Model):
    """A named target of one channel type; `settings` are checked by the channel when it exists."""

    name: Name
    type: Name
    settings: dict[str, Any] = Field(default_factory=dict)


class RouteConfig(_Model):
    """One node of the routing tree; unset group settings and receiver come from the parent."""

    receiver: Name | None = None
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    matchers: list[MatcherField] = Field(default_factory=list)
    continue_: bool = Field(False, alias="continue")
    routes: list[RouteConfig] = Field(default_factory=list)
    mute_time_intervals: list[Name] = Field(default_factory=list)
    active_time_intervals: list[Name] = Field(default_factory=list)

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if GROUP_BY_ALL in value and len(value) > 1:
            raise ValueError(f"'{GROUP_BY_ALL}' (all labels) cannot be combined with other labels")
        for label in value:
            if label != GROUP_BY_ALL and not _LABEL_NAME.fullmatch(label):
                raise ValueError(f"{label!r} is not a label name")
        duplicates = sorted({label for label in value if value.count(label) > 1})
        if duplicates:
            raise ValueError(f"duplicate labels: {', '.join(duplicates)}")
        return value

    @field_validator("group_interval", "repeat_interval")
    @classmethod
    def _not_zero(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value


class InhibitRule(_Model):
    """Alerts matching `target_matchers` are muted while an alert matching `source_matchers`
    fires with the same values for the `equal` labels. The optional `name` identifies a rule
    made through the API (and may be given in the file)."""

    name: Name | None = None
    source_matchers: list[MatcherField] = Field(default_factory=list)
    target_matchers: list[MatcherField] = Field(default_factory=list)
    equal: list[str] = Field(default_factory=list)

    @field_validator("equal")
    @classmethod
    def _label_names(cls, value: list[str]) -> list[str]:
        for label in value:
            if not _LABEL_NAME.fullmatch(label):
                raise ValueError(f"{label!r} is not a label name")
        return value


class TimeInterval(_Model):
    """A named set of time ranges; the ranges' own fields are validated by muting/."""

    name: Name
    time_intervals: list[dict[str, Any]] = Field(default_factory=list)


class RuleEffects(_Model):
    """What a matching rule does. Actions and tickets will join here as further fields."""

    severity: SeverityField | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    tags: list[Name] = Field(default_factory=list)
    owner: Name | None = None
    team: Name | None = None
    suppress: bool = False
    route_to: list[Name] = Field(default_factory=list)
    escalation_policy: Name | None = None

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for label in value:
            if not _LABEL_NAME.fullmatch(label):
                raise ValueError(f"{label!r} is not a label name")
        return value

    @model_validator(mode="after")
    def _does_something(self) -> RuleEffects:
        if not self.model_dump(exclude_defaults=True):
            raise ValueError("a rule needs at least one effect")
        return self


class Rule(_Model):
    """Matchers (all must match) and an optional CEL expression select alerts; `effects` apply."""

    name: Name
    matchers: list[MatcherField] = Field(default_factory=list)
    cel: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)] | None = None
    effects: RuleEffects


class EscalationStep(_Model):
    after: Duration
    receivers: Annotated[list[Name], Field(min_length=1)]


class EscalationPolicy(_Model):
    """Steps in order of `after` (time since the alert fired, still unacknowledged); the whole
    list runs `repeat` more times after its last step."""

    name: Name
    steps: Annotated[list[EscalationStep], Field(min_length=1)]
    repeat: Annotated[int, Field(ge=0, le=100)] = 0

    @field_validator("steps")
    @classmethod
    def _in_order(cls, steps: list[EscalationStep]) -> list[EscalationStep]:
        for before, after in pairwise(steps):
            if after.after < before.after:
                raise ValueError(
                    f"steps must be in order of `after`: {format_duration(after.after)} "
                    f"comes after {format_duration(before.after)}"
                )
        return steps


class Config(_Model):
    receivers: Annotated[list[Receiver], Field(min_length=1)]
    route: RouteConfig
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    time_intervals: list[TimeInterval] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    escalation_policies: list[EscalationPolicy] = Field(default_factory=list)
    integrations: list[Integration] = Field(default_factory=list)

    def receiver(self, name: str) -> Receiver | None:
        return next((r for r in self.receivers if r.name == name), None)

    def integration(self, name: str) -> Integration | None:
        return next((i for i in self.integrations if i.name == name), None)
