"""The JSON shapes of Alertmanager's API v2 (its `api/v2/openapi.yaml`), with its field names.

Times are written as Alertmanager writes them (RFC 3339, milliseconds, `Z`). Error answers are
a JSON string, as Alertmanager's are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from alert_handler.api.schemas import LongText, NameText, Time
from alert_handler.domain.matchers import Matcher, MatchOp
from alert_handler.muting.silences import Silence, SilenceState

GO_ZERO = datetime(1, 1, 1, tzinfo=UTC)


def am_time(value: datetime | None) -> str:
    """Alertmanager's time format; a missing time is Go's zero time, as Alertmanager would show it."""
    value = (value or GO_ZERO).astimezone(UTC)
    return f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


AmTime = Annotated[
    datetime | None,
    PlainSerializer(am_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def error(status: int, message: str) -> JSONResponse:
    """An error answer as Alertmanager gives it: the message as a JSON string."""
    return JSONResponse(message, status_code=status)


ERROR = {"content": {"application/json": {"schema": {"type": "string"}}}}


class Receiver(BaseModel):
    name: str


class AlertStatus(BaseModel):
    state: Literal["unprocessed", "active", "suppressed"]
    silencedBy: list[str]
    inhibitedBy: list[str]


class GettableAlert(BaseModel):
    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: AmTime
    endsAt: AmTime
    updatedAt: AmTime
    generatorURL: str | None = None
    fingerprint: str
    receivers: list[Receiver]
    status: AlertStatus


class AlertGroup(BaseModel):
    labels: dict[str, str]
    receiver: Receiver
    alerts: list[GettableAlert]


class AmMatcher(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Annotated[str, Field(min_length=1, max_length=255)]
    value: Annotated[str, Field(max_length=1024)]
    isRegex: bool
    isEqual: bool = True

    def op(self) -> MatchOp:
        if self.isRegex:
            return MatchOp.RE if self.isEqual else MatchOp.NRE
        return MatchOp.EQ if self.isEqual else MatchOp.NE

    @classmethod
    def of(cls, matcher: Matcher) -> AmMatcher:
        return cls(
            name=matcher.name,
            value=matcher.value,
            isRegex=matcher.op in (MatchOp.RE, MatchOp.NRE),
            isEqual=matcher.op in (MatchOp.EQ, MatchOp.RE),
        )


class PostableSilence(BaseModel):
    """A new silence, or (with `id`) the whole of a changed one. Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(max_length=36)] | None = None
    matchers: Annotated[list[AmMatcher], Field(min_length=1, max_length=64)]
    startsAt: Time
    endsAt: Time
    createdBy: NameText
    comment: LongText


class SilenceStatus(BaseModel):
    state: SilenceState


class GettableSilence(BaseModel):
    id: str
    status: SilenceStatus
    updatedAt: AmTime
    comment: str
    createdBy: str
    startsAt: AmTime
    endsAt: AmTime
    matchers: list[AmMatcher]

    @classmethod
    def of(cls, silence: Silence, now: datetime) -> GettableSilence:
        return cls(
            id=silence.id,
            status=SilenceStatus(state=silence.state(now)),
            updatedAt=silence.updated_at,
            comment=silence.comment,
            createdBy=silence.created_by,
            startsAt=silence.starts_at,
            endsAt=silence.ends_at,
            matchers=[AmMatcher.of(m) for m in silence.matchers],
        )


class SilenceCreated(BaseModel):
    silenceID: str


class VersionInfo(BaseModel):
    version: str
    revision: str
    branch: str
    buildUser: str
    buildDate: str
    goVersion: str


class ClusterStatus(BaseModel):
    status: Literal["ready", "settling", "disabled"]
    peers: list[dict[str, str]]


class AlertmanagerConfig(BaseModel):
    original: str


class AlertmanagerStatus(BaseModel):
    cluster: ClusterStatus
    versionInfo: VersionInfo
    config: AlertmanagerConfig
    uptime: AmTime
