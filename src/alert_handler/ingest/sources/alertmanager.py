"""Alertmanager's webhook (payload version 4), as a `webhook_configs` receiver sends it.

Each alert's identity is its label set, as in Alertmanager, so the two members of an HA pair
sending the same alert make one alert here. Title: the `summary` annotation, else `alertname`;
severity: the `severity` label (aliases mapped), else the integration's default. Fields this
module does not know (newer Alertmanagers add some) are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from alert_handler.domain.alert import IncomingAlert
from alert_handler.domain.severity import Severity, parse_severity
from alert_handler.ingest.sources.base import (
    Context,
    Loc,
    Normalized,
    build,
    check_batch,
    clip,
    first,
    label_name,
    parse_payload,
)

TITLE_LIMIT = 500
TEXT_LIMIT = 65_535
URL_LIMIT = 2048
YEAR_ONE = 1  # Alertmanager's "no time": 0001-01-01T00:00:00Z


class TemplateAlert(BaseModel):
    """One alert of a notification, as Alertmanager's (and Grafana's) template data has it."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None


class Notification(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"] | None = None
    receiver: str | None = None
    groupKey: str | None = None
    externalURL: str | None = None
    alerts: list[TemplateAlert]


def _time(value: datetime | None) -> datetime | None:
    return None if value is None or value.year <= YEAR_ONE else value


def severity_of(labels: dict[str, str], ctx: Context) -> Severity:
    found = parse_severity(labels["severity"]) if "severity" in labels else None
    return found or ctx.severity or Severity.WARNING


def template_alert(
    alert: TemplateAlert, ctx: Context, where: Loc, default_source: str, metadata: dict[str, Any]
) -> IncomingAlert:
    """The native alert for one template alert (shared with Grafana)."""
    labels = {label_name(k): clip(v, 1024) for k, v in alert.labels.items()}
    annotations = {k: clip(v, TEXT_LIMIT) for k, v in alert.annotations.items()}
    title = first(alert.annotations.get("summary"), alert.labels.get("alertname"), alert.annotations.get("title"))
    description = first(alert.annotations.get("description"), alert.annotations.get("message"))
    url = alert.generatorURL if alert.generatorURL and len(alert.generatorURL) <= URL_LIMIT else None
    fields = {
        "source": ctx.source or default_source,
        "severity": severity_of(alert.labels, ctx),
        "title": clip(title or "alert", TITLE_LIMIT),
        "description": clip(description, TEXT_LIMIT),
        "labels": labels,
        "annotations": annotations,
        "metadata": {k: v for k, v in metadata.items() if v not in (None, "", {}, [])},
        "status": alert.status,
        "starts_at": _time(alert.startsAt),
        # A firing alert's endsAt is when Alertmanager would time it out, not news from the source.
        "ends_at": _time(alert.endsAt) if alert.status == "resolved" else None,
        "generator_url": url,
    }
    renamed: dict[str, Loc] = {
        "title": ("annotations", "summary") if alert.annotations.get("summary") else ("labels", "alertname"),
        "description": ("annotations", "description"),
        "metadata": (),
        "starts_at": ("startsAt",),
        "ends_at": ("endsAt",),
        "generator_url": ("generatorURL",),
        "source": (),
    }
    return build(fields, ctx, where=where, renamed=renamed, by_labels=True)


def normalize(body: bytes, ctx: Context) -> Normalized:
    notification = parse_payload(Notification, body)
    check_batch(len(notification.alerts), ctx)
    common = {"integration": ctx.integration, "receiver": notification.receiver}
    common["external_url"] = notification.externalURL
    alerts = [
        template_alert(
            alert, ctx, ("alerts", index), "alertmanager", {**common, "alertmanager_fingerprint": alert.fingerprint}
        )
        for index, alert in enumerate(notification.alerts)
    ]
    return Normalized(alerts=alerts)
