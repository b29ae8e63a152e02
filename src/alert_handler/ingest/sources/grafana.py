"""Grafana alerting's webhook contact point (unified alerting, payload version 1).

The alerts have Alertmanager's shape (Grafana runs one inside), with a few additions kept as
metadata: the panel and dashboard links, the silence link and the query values. Identity is
the label set, as for Alertmanager.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from alert_handler.ingest.sources.alertmanager import TemplateAlert, template_alert
from alert_handler.ingest.sources.base import Context, Normalized, check_batch, parse_payload


class GrafanaAlert(TemplateAlert):
    silenceURL: str | None = None
    dashboardURL: str | None = None
    panelURL: str | None = None
    values: dict[str, Any] | None = None
    valueString: str | None = None


class GrafanaNotification(BaseModel):
    model_config = ConfigDict(extra="ignore")

    receiver: str | None = None
    orgId: int | None = None
    externalURL: str | None = None
    alerts: list[GrafanaAlert]


def normalize(body: bytes, ctx: Context) -> Normalized:
    notification = parse_payload(GrafanaNotification, body)
    check_batch(len(notification.alerts), ctx)
    alerts = []
    for index, alert in enumerate(notification.alerts):
        metadata = {
            "integration": ctx.integration,
            "receiver": notification.receiver,
            "external_url": notification.externalURL,
            "org_id": notification.orgId,
            "grafana_fingerprint": alert.fingerprint,
            "dashboard_url": alert.dashboardURL,
            "panel_url": alert.panelURL,
            "silence_url": alert.silenceURL,
            "values": alert.values,
            "value_string": alert.valueString,
        }
        alerts.append(template_alert(alert, ctx, ("alerts", index), "grafana", metadata))
    return Normalized(alerts=alerts)
