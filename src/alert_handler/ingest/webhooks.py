"""Inbound webhooks: the integration's normalizer turns the body into alerts (and, for PagerDuty
and Zabbix, acknowledgements); the alerts are stored through the writer like native ones, then
the acknowledgements are applied to the open alerts they name, each on its timeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler import db
from alert_handler.domain.alert import IngestResult, Status
from alert_handler.ingest import service
from alert_handler.ingest.sources import alertmanager, generic, grafana, pagerduty, zabbix
from alert_handler.ingest.sources.base import Acknowledgement, Context, Normalized
from alert_handler.ingest.writer import IngestWriter
from alert_handler.metrics import Metrics
from alert_handler.routing.integrations import Integration
from alert_handler.store import alert_updates

NORMALIZERS: dict[str, Callable[[bytes, Context], Normalized]] = {
    "alertmanager": alertmanager.normalize,
    "grafana": grafana.normalize,
    "zabbix": zabbix.normalize,
    "pagerduty": pagerduty.normalize,
}


def normalize(integration: Integration, body: bytes, ctx: Context) -> Normalized:
    """Everything the body asks for; raises InvalidInput (nothing stored) when it cannot be read."""
    if integration.type == "generic":
        assert integration.mapping is not None  # the model requires it
        return generic.normalize_with(body, ctx, integration.mapping)
    return NORMALIZERS[integration.type](body, ctx)


@dataclass(frozen=True, slots=True)
class AckResult:
    fingerprint: str
    outcome: Literal["acknowledged", "duplicate", "not_found"]  # duplicate: already acknowledged
    id: int | None = None


@dataclass(slots=True)
class Accepted:
    results: list[IngestResult] = field(default_factory=list)
    acknowledgements: list[AckResult] = field(default_factory=list)

    @property
    def changed_ids(self) -> list[int]:
        return [r.id for r in self.results] + [
            a.id for a in self.acknowledgements if a.outcome == "acknowledged" and a.id
        ]


async def accept(
    writer: IngestWriter, engine: AsyncEngine, metrics: Metrics, normalized: Normalized, ctx: Context
) -> Accepted:
    """Store the alerts (answered after the commit), then apply the acknowledgements."""
    accepted = Accepted()
    if normalized.alerts:
        accepted.results = await service.ingest(writer, metrics, normalized.alerts)
    for ack in normalized.acknowledgements:
        accepted.acknowledgements.append(await _acknowledge(engine, ctx.tenant, ack, ctx.actor, ctx.now))
    return accepted


async def _acknowledge(engine: AsyncEngine, tenant: str, ack: Acknowledgement, actor: str, now: datetime) -> AckResult:
    async with db.write(engine) as conn:
        alert_id = await alert_updates.open_alert_id(conn, tenant, ack.fingerprint)
        if alert_id is None:
            return AckResult(ack.fingerprint, "not_found")
        outcome = await alert_updates.change_status(
            conn, tenant=tenant, alert_id=alert_id, target=Status.ACKNOWLEDGED, actor=actor, note=ack.note, now=now
        )
    return AckResult(ack.fingerprint, "duplicate" if outcome.refused else "acknowledged", alert_id)
