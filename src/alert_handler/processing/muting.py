"""What mutes alerts right now: silences in force and the inhibition index, loaded per tenant."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler.domain.alert import Status
from alert_handler.muting.inhibit import InhibitionIndex, InhibitRule
from alert_handler.muting.silences import Silence
from alert_handler.muting.status import MuteStatus, mute_status
from alert_handler.routing.models import Config
from alert_handler.routing.view import AlertView, match_labels
from alert_handler.store import silences as silence_store
from alert_handler.store.inhibition_sources import sources_clause
from alert_handler.store.tables import alerts_table as alerts


def inhibit_rules(config: Config) -> list[InhibitRule]:
    return [
        InhibitRule(tuple(r.source_matchers), tuple(r.target_matchers), tuple(r.equal), name=f"inhibit_rules[{i}]")
        for i, r in enumerate(config.inhibit_rules)
    ]


@dataclass(slots=True)
class Mutes:
    """The silences in force and the firing alerts that can inhibit, for one tenant."""

    silences: list[Silence]
    inhibitions: InhibitionIndex
    # Per rule, the `equal` values its sources were read for (None: every source was read).
    read_for: list[set[tuple[str, ...]]] | None = field(default=None)

    def status(self, view: AlertView, now: datetime) -> MuteStatus:
        return mute_status(view.match_labels(), self.silences, self.inhibitions, now)

    def covers(self, views: Iterable[AlertView]) -> bool:
        """Whether the sources read can judge these alerts too (else read again for them)."""
        if self.read_for is None:
            return True
        labels = [view.match_labels() for view in views]
        return all(
            rule.target_keys(labels) <= known for rule, known in zip(self.inhibitions.rules, self.read_for, strict=True)
        )


async def load_mutes(
    conn: AsyncConnection,
    config: Config,
    tenants: Iterable[str],
    now: datetime,
    *,
    judging: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
) -> dict[str, Mutes]:
    """The silences in force and the inhibition sources, per tenant. With `judging` (per tenant,
    the match labels of the alerts about to be judged) only the firing alerts that could inhibit
    those are read; without it, every firing alert (a full re-check)."""
    found: dict[str, Mutes] = {}
    rules = inhibit_rules(config)
    for tenant in sorted(set(tenants)):
        in_force = await silence_store.in_force(conn, tenant, now)
        read_for = None if judging is None else [rule.target_keys(judging.get(tenant, ())) for rule in rules]
        sources: Sequence[dict[str, str]] = []
        narrowed = sources_clause(rules, read_for, conn.dialect.name) if rules and read_for is not None else None
        if rules and (read_for is None or narrowed is not None):
            columns = (alerts.c.labels, alerts.c.severity, alerts.c.source, alerts.c.title, alerts.c.tags)
            query = select(*columns).where(alerts.c.tenant == tenant, alerts.c.status != Status.RESOLVED.value)
            firing = await conn.execute(query if narrowed is None else query.where(narrowed))
            sources = [match_labels(r.labels, r.severity, r.source, r.title, r.tags) for r in firing]
        found[tenant] = Mutes(in_force, InhibitionIndex(rules, sources), read_for)
    return found


def marks(status: MuteStatus, rule: str | None = None) -> list[dict[str, Any]]:
    """The alert's `suppressed_by` column: every reason it is not notified, most deliberate first."""
    found: list[dict[str, Any]] = []
    if rule:
        found.append({"kind": "rule", "id": rule})
    found += [{"kind": "silence", "id": s} for s in status.silenced_by]
    found += [
        {"kind": "inhibition", "id": i.rule.name, "source_fingerprint": i.source_fingerprint}
        for i in status.inhibited_by
    ]
    return found
