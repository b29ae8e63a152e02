"""Alertmanager's postable alerts (`POST /api/v2/alerts`), as Prometheus and other rule evaluators send them.

Alertmanager's semantics: the label set is the alert's identity (`label_fingerprint`); labels
with an empty value are dropped; a missing `startsAt` is `endsAt` or now; a missing `endsAt` is
now plus the resolve timeout (the sender is expected to send the alert again before then); an
`endsAt` that is not in the future resolves the alert. Unknown fields are ignored. A time of
Go's zero value (`0001-01-01T00:00:00Z`, what Go clients send for "not set") counts as missing.

Checks and their messages are Alertmanager's (`model.Alert.Validate`), each prefixed by the
alert's place in the list: `alerts[0].labels: at least one label pair required`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from alert_handler.domain.alert import IncomingAlert
from alert_handler.domain.fingerprint import label_fingerprint
from alert_handler.domain.severity import Severity, parse_severity
from alert_handler.errors import InvalidInput
from alert_handler.ingest.sources.native import LABEL_NAME, _aware, _check_storable

SOURCE = "alertmanager"
_GO_ZERO = datetime(1, 1, 1, tzinfo=UTC)
_TITLE_MAX = 500
_DESCRIPTION_MAX = 65_535


def _set_or_none(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    value = _aware(value)
    return None if value == _GO_ZERO else value


AmTime = Annotated[datetime | None, AfterValidator(_set_or_none)]


class PostableAlert(BaseModel):
    """One alert as Alertmanager's API takes it; unknown fields are ignored, as Alertmanager does."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    labels: dict[str, Annotated[str, Field(max_length=1024)]] = Field(max_length=100)
    annotations: dict[str, Annotated[str, Field(max_length=65_535)]] = Field(default_factory=dict, max_length=100)
    starts_at: AmTime = Field(None, alias="startsAt")
    ends_at: AmTime = Field(None, alias="endsAt")
    generator_url: str | None = Field(None, alias="generatorURL", max_length=2048)

    def problems(self) -> list[tuple[str, str]]:
        """Alertmanager's checks, as (field, message); empty when the alert is valid."""
        found: list[tuple[str, str]] = []
        labels = self.identity()
        bad = next((name for name in labels if not LABEL_NAME.match(name)), None)
        if bad is not None:
            found.append(("labels", f'invalid label set: invalid name "{bad}"'))
        elif not labels:
            found.append(("labels", "at least one label pair required"))
        bad = next((name for name in self.annotations if not LABEL_NAME.match(name)), None)
        if bad is not None:
            found.append(("annotations", f'invalid annotations: invalid name "{bad}"'))
        if self.starts_at is not None and self.ends_at is not None and self.ends_at < self.starts_at:
            found.append(("endsAt", "start time must be before end time"))
        for name, value in (
            ("labels", self.labels),
            ("annotations", self.annotations),
            ("generatorURL", self.generator_url),
        ):
            try:
                _check_storable(value)
            except ValueError as exc:
                found.append((name, str(exc)))
        return found

    def identity(self) -> dict[str, str]:
        """The labels without those of an empty value (Alertmanager drops them)."""
        return {name: value for name, value in self.labels.items() if value != ""}

    def normalize(self, *, tenant: str, actor: str, now: datetime, resolve_timeout: timedelta) -> IncomingAlert:
        labels = self.identity()
        starts_at = self.starts_at or self.ends_at or now
        ends_at = self.ends_at or now + resolve_timeout
        title = self.annotations.get("summary") or labels.get("alertname") or _describe(labels)
        return IncomingAlert(
            tenant=tenant,
            fingerprint=label_fingerprint(labels),
            source=SOURCE,
            severity=parse_severity(labels.get("severity", "")) or Severity.WARNING,
            title=title[:_TITLE_MAX],
            description=(self.annotations.get("description") or "")[:_DESCRIPTION_MAX],
            resolved=ends_at <= now,
            labels=labels,
            annotations=dict(self.annotations),
            starts_at=starts_at,
            ends_at=ends_at,
            generator_url=self.generator_url or None,
            actor=actor,
        )


def _describe(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{name}="{value}"' for name, value in sorted(labels.items())) + "}"


_POSTABLE_LIST = TypeAdapter(list[PostableAlert])


def _error(loc: list[Any], msg: str) -> dict[str, object]:
    return {"loc": ["body", "alerts", *loc], "msg": msg, "type": "value_error"}


def parse_postable(body: bytes, *, max_batch: int) -> list[PostableAlert]:
    """A JSON list of postable alerts, checked as a whole: one invalid alert refuses the request."""
    try:
        parsed = _POSTABLE_LIST.validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        found = []
        for error in errors:
            loc = [] if error["type"] == "json_invalid" else [str(p) if isinstance(p, int) else p for p in error["loc"]]
            found.append(_error(loc, error["msg"]))
        raise InvalidInput(found) from exc
    if len(parsed) > max_batch:
        raise InvalidInput([_error([], f"at most {max_batch} alerts per request")])
    problems = [_error([str(i), name], msg) for i, alert in enumerate(parsed) for name, msg in alert.problems()]
    if problems:
        raise InvalidInput(problems)
    return parsed
