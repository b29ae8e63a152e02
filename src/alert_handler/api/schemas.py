"""Request and response bodies of the native API (tables live in `store/tables.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from alert_handler.domain.alert import Outcome, Status
from alert_handler.muting.silences import Silence, SilenceState
from alert_handler.security.keys import Scope


class IngestResultOut(BaseModel):
    id: int
    fingerprint: str
    outcome: Outcome
    status: Status


class IngestBatchOut(BaseModel):
    count: int
    results: list[IngestResultOut]


class AcknowledgementOut(BaseModel):
    fingerprint: str
    outcome: Literal["acknowledged", "duplicate", "not_found"]
    id: int | None = Field(None, description="The open alert acknowledged (none when not_found)")


class WebhookOut(BaseModel):
    """What a webhook stored; PagerDuty integrations also answer PagerDuty's fields."""

    count: int = Field(description="The number of alerts stored")
    results: list[IngestResultOut]
    acknowledgements: list[AcknowledgementOut] = Field(default_factory=list)
    status: str | None = Field(None, description="PagerDuty: success")
    message: str | None = Field(None, description="PagerDuty: Event processed")
    dedup_key: str | None = Field(None, description="PagerDuty: the key of the alert the event was for")


class EventOut(BaseModel):
    id: int | None
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant: str
    fingerprint: str
    status: Status
    severity: str
    source: str
    title: str
    description: str
    labels: dict[str, str]
    annotations: dict[str, str]
    tags: list[str]
    metadata: dict[str, Any]
    dedup_key: str | None
    generator_url: str | None
    starts_at: datetime
    ends_at: datetime | None
    first_received_at: datetime
    last_received_at: datetime
    duplicate_count: int
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None
    previous_id: int | None
    owner: str | None = None
    team: str | None = None
    suppressed_by: list[dict[str, Any]] | None = Field(
        None, description="What holds the alert back from notification: silences, inhibitions, a rule"
    )
    escalation_policy: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AlertOut:
        return cls.model_validate({**row, "metadata": row["metadata"]})


class AlertDetailOut(AlertOut):
    timeline: list[EventOut]


class AlertPageOut(BaseModel):
    items: list[AlertOut]
    total: int | None = Field(description="Alerts matching the filters (omitted with count=false)")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class StatsOut(BaseModel):
    since: datetime
    until: datetime
    total: int
    by_status: dict[str, int]
    by_severity: dict[str, int]
    by_source: dict[str, int]
    mtta_seconds: float | None = Field(description="Mean time from first received to acknowledged")
    acknowledged: int
    mttr_seconds: float | None = Field(description="Mean time from first received to resolved")
    resolved: int


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    resolution_note: str | None = Field(None, max_length=10_000)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=10_000)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution_note: str | None = Field(None, max_length=10_000)


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    scopes: list[Scope] = Field(min_length=1)
    tenant: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    tenant: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The key itself. Shown once: store it now.")


class HealthOut(BaseModel):
    status: Literal["ok", "error", "not configured"]
    detail: str | None = None
    latency_ms: float | None = None


class ErrorOut(BaseModel):
    detail: Any


class GroupOut(BaseModel):
    id: int
    receiver: str
    route_path: str
    labels: dict[str, str]
    next_flush_at: datetime | None
    notified_at: datetime | None


class NotificationOut(BaseModel):
    id: int
    kind: str
    receiver: str
    group_id: int | None
    group_labels: dict[str, str]
    firing: list[int]
    resolved: list[int]
    status: str = Field(description="pending, sending, sent, or dead (gave up: see last_error)")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    sent_as: str | None = Field(
        None, description="the key of the message that carried it: its own, or a storm digest's (`digest:...`)"
    )


class ExplanationOut(BaseModel):
    """Why the alert went where it went: rules, routes and groups, what mutes it, what was sent."""

    alert_id: int
    status: Status
    processed: bool = Field(description="False while processing of its latest change is still owed")
    processed_at: datetime | None
    rules: dict[str, Any] = Field(
        description="matched (rule names), suppressed_by, route_to, escalation_policy, and a trace of every rule"
    )
    routes: list[dict[str, Any]] = Field(
        description="path, receiver, group key and labels; time_muted says if its time intervals hold it now"
    )
    suppressed_by: list[dict[str, Any]]
    groups: list[GroupOut]
    notifications: list[NotificationOut]
    escalation: dict[str, Any] | None


class NotificationPageOut(BaseModel):
    items: list[NotificationOut]


def _storable(value: str) -> str:
    if "\x00" in value:  # PostgreSQL refuses the NUL character in text and JSON
        raise ValueError("contains a NUL character (\\u0000), which cannot be stored")
    return value


def _in_range(value: datetime) -> datetime:
    if not 1900 <= value.year <= 9000:
        raise ValueError("year out of range (1900 to 9000)")
    return value


# Text of 1 to N characters that every database can store.
MatcherText = Annotated[str, StringConstraints(min_length=1, max_length=1024), AfterValidator(_storable)]
NameText = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_storable)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=10_000), AfterValidator(_storable)]
Time = Annotated[AwareDatetime, AfterValidator(_in_range)]


class SilenceIn(BaseModel):
    """A new silence, or the whole of a changed one (PUT). Give `ends_at` or `duration`."""

    model_config = ConfigDict(extra="forbid")

    matchers: list[MatcherText] = Field(
        min_length=1,
        max_length=64,
        description='Alertmanager matchers: name, operator (=, !=, =~, !~) and value, e.g. alertname="DiskFull"',
        examples=[['alertname="DiskFull"', 'instance=~"db-.*"']],
    )
    starts_at: Time | None = Field(
        None, description="With a time zone. Default: now (PUT: the silence's current start); a past start means now"
    )
    ends_at: Time | None = Field(None, description="With a time zone; or give `duration`")
    duration: str | None = Field(
        None,
        max_length=32,
        description="How long from the start (or from now, if the start is past): 30m, 2h, 1d, 1h30m",
        examples=["2h"],
    )
    created_by: NameText | None = Field(None, description="Default: the API key's name")
    comment: LongText


class SilenceOut(BaseModel):
    id: str
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    updated_at: datetime
    state: SilenceState = Field(description="At the time of the answer: pending, active or expired")

    @classmethod
    def of(cls, silence: Silence, now: datetime, state: SilenceState | None = None) -> SilenceOut:
        return cls(
            id=silence.id,
            matchers=[str(m) for m in silence.matchers],
            starts_at=silence.starts_at,
            ends_at=silence.ends_at,
            created_by=silence.created_by,
            comment=silence.comment,
            updated_at=silence.updated_at,
            state=state or silence.state(now),
        )
