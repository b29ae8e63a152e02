"""The `integrations:` section: inbound webhooks, each served at `/api/v1/webhooks/{name}`.

name       the path segment: letters, digits, _ . : @ -
type       alertmanager | grafana | zabbix | pagerduty | generic
auth       token (query ?token=, Authorization: Bearer, X-API-Key, basic auth password;
           for pagerduty also the body's routing_key) and/or hmac_secret (HMAC-SHA256 of the
           raw body, hex, in the header hmac_header, optionally after hmac_prefix such as
           "sha256="). Without either, only API keys with the ingest scope are accepted.
tenant     the tenant the alerts go to (default: DEFAULT_TENANT); API keys use their own
source     the alerts' source (default: the type; for generic, the mapped value or the name)
severity   the severity when the payload gives none (or none we know)
mapping    generic only: where each field is in the JSON (paths such as alert.labels)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator, model_validator

from alert_handler.domain.severity import Severity, parse_severity
from alert_handler.ingest.json_path import parse_path

IntegrationType = Literal["alertmanager", "grafana", "zabbix", "pagerduty", "generic"]
INTEGRATION_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"
DEFAULT_HMAC_HEADER = "X-Signature"
RESOLVED_VALUES = ("resolved", "ok", "closed", "recovered", "inactive", "normal", "false", "0")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _path(value: str | None) -> str | None:
    if value is not None:
        parse_path(value)  # raises ValueError naming what it cannot read
    return value


class IntegrationAuth(_Model):
    token: SecretStr | None = Field(None, min_length=16)
    hmac_secret: SecretStr | None = Field(None, min_length=16)
    hmac_header: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,100}$")] = DEFAULT_HMAC_HEADER
    hmac_prefix: Annotated[str, StringConstraints(max_length=32)] = ""


class FieldMapping(_Model):
    """Paths into each alert object of a generic payload. Only `title` is required."""

    alerts: str | None = Field(None, description="a list of alert objects; without it the body is one alert or a list")
    title: str
    severity: str | None = None
    source: str | None = None
    description: str | None = None
    labels: str | None = Field(None, description="an object of label names to values")
    dedup_key: str | None = None
    status: str | None = Field(None, description="a value in resolved_values (any case) resolves; others fire")
    resolved_values: list[str] = Field(default_factory=lambda: list(RESOLVED_VALUES))

    @field_validator("alerts", "title", "severity", "source", "description", "labels", "dedup_key", "status")
    @classmethod
    def _valid_path(cls, value: str | None) -> str | None:
        return _path(value)


class Integration(_Model):
    name: Annotated[str, StringConstraints(pattern=INTEGRATION_NAME)]
    type: IntegrationType
    auth: IntegrationAuth = Field(default_factory=IntegrationAuth)
    tenant: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    source: Annotated[str, StringConstraints(min_length=1, max_length=255, strip_whitespace=True)] | None = None
    severity: Severity | None = None
    mapping: FieldMapping | None = None

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: object) -> object:
        if isinstance(value, str) and parse_severity(value) is None:
            raise ValueError(f"{value!r} is not a severity: expected one of {', '.join(s.value for s in Severity)}")
        return parse_severity(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _mapping_for_generic(self) -> Integration:
        if self.type == "generic" and self.mapping is None:
            raise ValueError("a generic integration needs a mapping (at least mapping.title)")
        if self.type != "generic" and self.mapping is not None:
            raise ValueError(f"mapping is for generic integrations; {self.type} payloads have a known shape")
        return self
