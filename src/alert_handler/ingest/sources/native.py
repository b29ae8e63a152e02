"""The native JSON body of `POST /api/v1/alerts` (the product README's shape, plus identity fields)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from alert_handler.domain.alert import IncomingAlert
from alert_handler.domain.fingerprint import fingerprint
from alert_handler.domain.severity import Severity, parse_severity

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _aware(value: datetime) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+00:01 is before year 1 in UTC
        raise ValueError("the time is out of range") from None


def _label_names(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not LABEL_NAME.match(name):
            raise ValueError(f"label name {name!r} is invalid: use letters, digits and _, not starting with a digit")
    return value


def _json_storable(value: dict[str, Any]) -> dict[str, Any]:
    """What JSON columns and the fingerprint can hold: integers beyond 64 bits cannot be stored."""
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"cannot be stored: {exc}") from exc
    return value


def _check_storable(value: object) -> None:
    """Text every database can store: PostgreSQL refuses the NUL character in text and JSON."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("contains a NUL character (\\u0000), which cannot be stored")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item)


UtcDatetime = Annotated[datetime, AfterValidator(_aware)]
ShortText = Annotated[str, StringConstraints(max_length=1024)]
Labels = Annotated[dict[str, ShortText], Field(max_length=100), AfterValidator(_label_names)]


class NativeAlert(BaseModel):
    """One alert. Unknown fields are refused, so a misspelt field is an error, not a silent loss."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source: str = Field(min_length=1, max_length=255, examples=["monitoring-system"])
    severity: Severity = Field(
        Severity.WARNING,
        description="critical, high, warning or info; aliases such as error, major, minor, page are mapped",
    )
    title: str = Field(min_length=1, max_length=500, examples=["服务器CPU使用率过高"])
    description: str = Field("", max_length=65_535)
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50
    )
    metadata: Annotated[dict[str, Any], AfterValidator(_json_storable)] = Field(default_factory=dict, max_length=200)
    labels: Labels = Field(default_factory=dict)
    annotations: dict[str, Annotated[str, StringConstraints(max_length=65_535)]] = Field(
        default_factory=dict, max_length=100
    )
    dedup_key: str | None = Field(None, min_length=1, max_length=255)
    status: Literal["firing", "resolved"] = "firing"
    starts_at: UtcDatetime | None = None
    ends_at: UtcDatetime | None = None
    generator_url: str | None = Field(None, max_length=2048)

    @field_validator("severity", mode="before")
    @classmethod
    def _severity_alias(cls, value: object) -> object:
        if isinstance(value, str):
            severity = parse_severity(value)
            if severity is None:
                raise ValueError(
                    f"{value[:50]!r} is not a severity: use critical, high, warning or info "
                    "(or an alias such as error, major, minor, page)"
                )
            return severity
        return value

    @field_validator("*")
    @classmethod
    def _storable(cls, value: object, info: ValidationInfo) -> object:
        # The caller may know from the raw body that no NUL can be in it (JSON spells it \u0000).
        if not (info.context and info.context.get("nul_free")):
            _check_storable(value)
        return value

    def normalize(self, *, tenant: str, identity_keys: list[str], actor: str, now: datetime) -> IncomingAlert:
        resolved = self.status == "resolved" or (self.ends_at is not None and self.ends_at <= now)
        return IncomingAlert(
            tenant=tenant,
            fingerprint=fingerprint(
                source=self.source,
                title=self.title,
                labels=self.labels,
                metadata=self.metadata,
                identity_keys=identity_keys,
                dedup_key=self.dedup_key,
            ),
            source=self.source,
            severity=self.severity,
            title=self.title,
            description=self.description,
            resolved=resolved,
            labels=self.labels,
            annotations=self.annotations,
            tags=self.tags,
            metadata=self.metadata,
            dedup_key=self.dedup_key,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            generator_url=self.generator_url,
            actor=actor,
        )
