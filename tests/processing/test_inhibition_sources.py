"""Processing reads only the firing alerts that could inhibit what it judges, not every open alert,
and still judges every alert as Alertmanager would (on SQLite, PostgreSQL and MariaDB)."""

from __future__ import annotations

from alert_handler import db
from alert_handler.processing.muting import load_mutes
from alert_handler.routing.view import AlertView, match_labels
from tests.processing.conftest import Harness, alert
from tests.processing.test_muting import INHIBITING


def labels(name: str, host: str, severity: str) -> dict[str, str]:
    return match_labels({"alertname": name, "host": host}, severity, "test", name, [])


async def test_only_alerts_that_could_inhibit_the_batch_are_read(harness: Harness) -> None:
    harness.configure(INHIBITING)
    await harness.ingest(*(alert("NodeDown", host=f"db-{i}", severity="critical") for i in range(30)))
    await harness.run()
    config = harness.pipeline.snapshot().config
    async with db.read(harness.engine) as conn:
        warning_on_db7 = {"default": [labels("DiskSlow", "db-7", "warning")]}
        narrowed = await load_mutes(conn, config, ["default"], harness.clock(), judging=warning_on_db7)
        critical_only = {"default": [labels("NodeDown", "db-40", "critical")]}
        none_needed = await load_mutes(conn, config, ["default"], harness.clock(), judging=critical_only)
        everything = await load_mutes(conn, config, ["default"], harness.clock())
    assert narrowed["default"].inhibitions.source_count(0) == 1
    [reason] = narrowed["default"].inhibitions.inhibited_by(labels("DiskSlow", "db-7", "warning"))
    assert reason.source_labels["host"] == "db-7"
    assert none_needed["default"].inhibitions.source_count(0) == 0
    assert everything["default"].inhibitions.source_count(0) == 30


async def test_an_equal_label_absent_on_both_sides_counts_as_equal(harness: Harness) -> None:
    harness.configure(INHIBITING.replace("equal: [host]", "equal: [cluster]"))
    await harness.ingest(alert("NodeDown", host="db-1", severity="critical"))
    await harness.run()
    [warning] = await harness.ingest(alert("DiskSlow", host="db-2", severity="warning"))
    await harness.run()
    assert [m.firing[0].title for m in harness.recorder.messages("pager")] == ["NodeDown"]
    marks = (await harness.alert(warning.id))["suppressed_by"]
    assert [(m["kind"], m["id"]) for m in marks] == [("inhibition", "inhibit_rules[0]")]


async def test_a_flush_judges_older_members_with_sources_read_for_them(harness: Harness) -> None:
    # The batch holds only the critical alert; the group it joins also holds an older warning,
    # which the critical one inhibits: the flush must read sources for the warning too.
    grouped = "group_by: [alertname], group_wait: 0s, group_interval: 1m"
    harness.configure(INHIBITING.replace("group_by: ['...'], group_wait: 0s", grouped))
    await harness.ingest(alert("Disk", host="db-1", severity="warning"))
    await harness.run()
    harness.clock.advance(minutes=1)
    await harness.ingest(alert("Disk", host="db-1", severity="critical", labels={"device": "sda"}))
    await harness.run()
    told = [[a.severity for a in m.firing] for m in harness.recorder.messages("pager")]
    assert told == [["warning"], ["critical"]]


async def test_mutes_know_which_alerts_their_sources_were_read_for(harness: Harness) -> None:
    harness.configure(INHIBITING)
    config = harness.pipeline.snapshot().config
    async with db.read(harness.engine) as conn:
        judging = {"default": [labels("DiskSlow", "db-1", "warning")]}
        mutes = (await load_mutes(conn, config, ["default"], harness.clock(), judging=judging))["default"]
    assert mutes.covers([view("DiskSlow", "db-1", "warning"), view("NodeDown", "db-9", "critical")])
    assert not mutes.covers([view("DiskSlow", "db-2", "warning")])


def view(name: str, host: str, severity: str) -> AlertView:
    return AlertView.from_row(
        {
            "id": 1, "tenant": "default", "fingerprint": "f", "status": "firing", "severity": severity,
            "source": "test", "title": name, "description": "", "labels": {"alertname": name, "host": host},
            "annotations": {}, "tags": [], "metadata": {}, "owner": None, "team": None,
            "starts_at": None, "ends_at": None,
        }
    )  # fmt: skip
