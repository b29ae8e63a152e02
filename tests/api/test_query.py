"""GET /api/v1/alerts (filters, sorting, cursor pages), GET /api/v1/alerts/{id}, and stats, on every backend."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import ALERTS, T0, Clock, get_alert, ingest, list_alerts, make_clocked_api, parse_time
from tests.conftest import Api

SEED = {
    "A": {
        "source": "prometheus",
        "severity": "critical",
        "title": "Disk full on db-1",
        "labels": {"team": "db", "env": "prod", "instance": "db-1"},
        "tags": ["disk", "storage"],
        "starts_at": "2026-03-01T10:00:00Z",
    },
    "B": {
        "source": "prometheus",
        "severity": "high",
        "title": "CPU high",
        "description": "100% CPU on web-1",
        "labels": {"team": "web", "env": "prod", "instance": "web-1"},
        "tags": ["cpu"],
        "starts_at": "2026-03-01T09:00:00Z",
    },
    "C": {
        "source": "zabbix",
        "severity": "warning",
        "title": "Memory 50%_used",
        "labels": {"team": "db", "env": "staging"},
        "tags": ["memory", "storage"],
        "starts_at": "2026-03-01T11:00:00Z",
    },
    "D": {"source": "grafana", "severity": "info", "title": "Backup done", "starts_at": "2026-03-01T08:00:00Z"},
    "E": {
        "source": "zabbix",
        "severity": "critical",
        "title": "Disk FULL on web-2",
        "labels": {"team": "web", "env": "dev", "instance": "web-2"},
        "tags": ["disk"],
    },
}


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class Seeded:
    def __init__(self, api: Api, clock: Clock) -> None:
        self.api = api
        self.clock = clock
        self.ids: dict[str, int] = {}
        self.fingerprints: dict[str, str] = {}
        self.created: dict[str, datetime] = {}

    async def titles(self, **params: Any) -> list[str]:
        page = await list_alerts(self.api, limit=500, **params)
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[item["id"]] for item in page["items"]]

    async def names(self, **params: Any) -> set[str]:
        return set(await self.titles(**params))


@pytest.fixture
async def seeded(clocked_api: Api, clock: Clock) -> Seeded:
    return await seed(clocked_api, clock)


async def seed(clocked_api: Api, clock: Clock) -> Seeded:
    """A..E created a minute apart from T0; B acknowledged at +10m, D resolved at +20m, A repeated at +30m."""
    seeded = Seeded(clocked_api, clock)
    for i, (name, body) in enumerate(SEED.items()):
        clock.now = T0 + timedelta(minutes=i)
        answer = await ingest(clocked_api, body)
        seeded.ids[name] = answer["id"]
        seeded.fingerprints[name] = answer["fingerprint"]
        seeded.created[name] = clock.now
    clock.now = T0 + timedelta(minutes=10)
    await clocked_api.client.post(f"{ALERTS}/{seeded.ids['B']}/acknowledge", headers=clocked_api.auth())
    clock.now = T0 + timedelta(minutes=20)
    await clocked_api.client.post(f"{ALERTS}/{seeded.ids['D']}/resolve", headers=clocked_api.auth())
    clock.now = T0 + timedelta(minutes=30)
    assert (await ingest(clocked_api, SEED["A"]))["outcome"] == "duplicate"
    return seeded


class TestFilters:
    async def test_no_filter_lists_everything_newest_first(self, seeded: Seeded) -> None:
        assert await seeded.titles() == ["E", "D", "C", "B", "A"]

    FIELD_FILTERS = [
        ({"status": "firing"}, {"A", "C", "E"}),
        ({"status": "acknowledged"}, {"B"}),
        ({"status": "resolved"}, {"D"}),
        ({"status": "active"}, {"A", "B", "C", "E"}),
        ({"status": ["firing", "resolved"]}, {"A", "C", "D", "E"}),
        ({"status": "firing,acknowledged"}, {"A", "B", "C", "E"}),
        ({"status": "active,resolved"}, {"A", "B", "C", "D", "E"}),
        ({"severity": "critical"}, {"A", "E"}),
        ({"severity": ["critical", "info"]}, {"A", "D", "E"}),
        ({"severity": "warning,info"}, {"C", "D"}),
        ({"severity": "error"}, {"B"}),
        ({"source": "zabbix"}, {"C", "E"}),
        ({"source": ["zabbix", "grafana"]}, {"C", "D", "E"}),
        ({"source": "nagios"}, set()),
        ({"tag": "disk"}, {"A", "E"}),
        ({"tag": "storage"}, {"A", "C"}),
        ({"tag": ["disk", "storage"]}, {"A"}),
        ({"tag": "disk,storage"}, {"A"}),
        ({"tag": ["cpu", "disk"]}, set()),
        ({"tag": "nope"}, set()),
        ({"severity": "critical", "status": "firing", "source": "zabbix"}, {"E"}),
    ]

    async def test_field_filters(self, seeded: Seeded) -> None:
        for params, expected in self.FIELD_FILTERS:
            assert await seeded.names(**params) == expected, params

    LABEL_MATCHERS = [
        ('team="db"', {"A", "C"}),
        ("team=db", {"A", "C"}),
        ('team!="db"', {"B", "D", "E"}),
        ('team=""', {"D"}),
        ('team!=""', {"A", "B", "C", "E"}),
        ('env=~"prod|staging"', {"A", "B", "C"}),
        ('env=~"prod"', {"A", "B"}),
        ('env=~"pro"', set()),
        ('env!~"prod|staging"', {"D", "E"}),
        ('instance=~"web-.*"', {"B", "E"}),
        ('instance!~"web-.*"', {"A", "C", "D"}),
        ('instance=~".+"', {"A", "B", "E"}),
        ('instance=~""', {"C", "D"}),
        ('nothing=~".*"', {"A", "B", "C", "D", "E"}),
        (["team=web", 'env="prod"'], {"B"}),
        (['team=~"db|web"', 'instance!="db-1"', 'env!="dev"'], {"B", "C"}),
    ]

    async def test_label_matchers(self, seeded: Seeded) -> None:
        for label, expected in self.LABEL_MATCHERS:
            assert await seeded.names(label=label) == expected, label

    TEXT_SEARCHES = [
        ("disk", {"A", "E"}),
        ("DISK full", {"A", "E"}),
        ("full on web", {"E"}),
        ("cpu on", {"B"}),  # the description
        ("%", {"B", "C"}),
        ("50%_", {"C"}),
        ("_", {"C"}),
        ("0%C", set()),  # % is not a wildcard
        ("d_sk", set()),  # _ is not a wildcard
        ("\\", set()),
        ("'", set()),
        ("backup", {"D"}),
        ("zzz", set()),
    ]

    async def test_text_search(self, seeded: Seeded) -> None:
        for q, expected in self.TEXT_SEARCHES:
            assert await seeded.names(q=q) == expected, q

    async def test_fingerprint(self, seeded: Seeded) -> None:
        assert await seeded.names(fingerprint=seeded.fingerprints["C"]) == {"C"}
        assert await seeded.names(fingerprint="0" * 32) == set()

    async def test_created_at_window(self, seeded: Seeded) -> None:
        since, until = iso(seeded.created["B"]), iso(seeded.created["D"])
        assert await seeded.titles(since=since, until=until) == ["C", "B"]  # since inclusive, until exclusive
        assert await seeded.names(since=iso(seeded.created["E"])) == {"E"}
        assert await seeded.names(until=iso(seeded.created["A"])) == set()
        assert await seeded.names(since="2026-03-01T13:01:30+01:00") == {"C", "D", "E"}  # other time zones

    async def test_other_time_fields(self, seeded: Seeded) -> None:
        at_30 = iso(T0 + timedelta(minutes=30))
        assert await seeded.names(time_field="last_received_at", since=at_30) == {"A"}
        assert await seeded.names(time_field="created_at", since=at_30) == set()
        assert await seeded.names(time_field="resolved_at", since=iso(T0)) == {"D"}
        assert await seeded.names(time_field="resolved_at", until=iso(T0 + timedelta(minutes=20))) == set()
        starts = {"time_field": "starts_at", "since": "2026-03-01T09:00:00Z", "until": "2026-03-01T11:00:00Z"}
        assert await seeded.names(**starts) == {"A", "B"}

    async def test_starts_at_defaults_to_the_first_arrival(self, seeded: Seeded) -> None:
        stored = await get_alert(seeded.api, seeded.ids["E"])
        assert parse_time(stored["starts_at"]) == seeded.created["E"]


@pytest.fixture
async def sqlite_seeded(sqlite_url: str, clock: Clock) -> AsyncIterator[Seeded]:
    async for api in make_clocked_api(sqlite_url, clock):
        yield await seed(api, clock)


class TestParameterErrors:
    """Checked before any query, so one backend is enough."""

    BAD_PARAMETERS = [
        {"status": "open"},
        {"severity": "urgent"},
        {"label": "team"},
        {"label": 'team=~"("'},
        {"label": '"team"="db"'},
        {"since": "2026-03-01T12:00:00"},
        {"until": "2026-03-01"},
        {"since": "yesterday"},
        {"time_field": "updated_at"},
        {"sort": "severity"},
        {"limit": 0},
        {"limit": 501},
        {"q": "x" * 201},
    ]

    async def test_bad_parameters_are_422(self, sqlite_seeded: Seeded) -> None:
        for params in self.BAD_PARAMETERS:
            response = await sqlite_seeded.api.client.get(ALERTS, params=params, headers=sqlite_seeded.api.auth())
            assert response.status_code == 422, (params, response.text)

    async def test_errors_say_which_parameter(self, sqlite_seeded: Seeded) -> None:
        api = sqlite_seeded.api
        response = await api.client.get(ALERTS, params={"label": 'a=~"("'}, headers=api.auth())
        assert response.json()["message"].startswith("label:")
        assert response.json()["detail"][0]["loc"] == ["query", "label"]
        response = await api.client.get(ALERTS, params={"since": "2026-03-01T12:00:00"}, headers=api.auth())
        assert "since" in response.json()["message"] and "time zone" in response.json()["message"]


class TestSorting:
    SORTS = [
        ("-created_at", ["E", "D", "C", "B", "A"]),
        ("created_at", ["A", "B", "C", "D", "E"]),
        ("last_received_at", ["B", "C", "D", "E", "A"]),  # A repeated at +30; a manual resolve is no receipt
        ("-last_received_at", ["A", "E", "D", "C", "B"]),
        ("starts_at", ["D", "B", "A", "C", "E"]),
        ("-starts_at", ["E", "C", "A", "B", "D"]),
        ("resolved_at", ["D", "A", "B", "C", "E"]),  # not resolved: last, in id order
        ("-resolved_at", ["D", "E", "C", "B", "A"]),
    ]

    async def test_sort_options(self, seeded: Seeded) -> None:
        for sort, expected in self.SORTS:
            assert await seeded.titles(sort=sort) == expected, sort


async def walk(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Every item, following next_cursor to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        page = await list_alerts(api, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert page["items"], "a page with a cursor must not be empty"
    raise AssertionError("pagination did not end")


SORT_OPTIONS = [
    "-created_at",
    "created_at",
    "last_received_at",
    "-last_received_at",
    "starts_at",
    "-starts_at",
    "resolved_at",
    "-resolved_at",
]


def assert_sorted(items: list[dict[str, Any]], sort: str) -> None:
    """By the sort field, ties by id, in the direction asked; NULLs (never resolved) last either way."""
    key = sort.lstrip("-")
    column = "first_received_at" if key == "created_at" else key
    values = [(a[column] is None, a[column] and parse_time(a[column]), a["id"]) for a in items]
    non_null = [v for v in values if not v[0]]
    assert non_null == sorted(non_null, key=lambda v: (v[1], v[2]), reverse=sort.startswith("-")), sort
    assert values[: len(non_null)] == non_null, sort
    nulls = [v[2] for v in values[len(non_null) :]]
    assert nulls == sorted(nulls, reverse=sort.startswith("-")), sort


@pytest.fixture
async def many(clocked_api: Api, clock: Clock) -> Api:
    """37 alerts with ties on every time column, some resolved at different times, some repeated."""
    api = clocked_api
    await ingest(
        api, [{"source": "s", "title": f"a{i}", "starts_at": iso(T0 - timedelta(hours=i % 3))} for i in range(20)]
    )
    clock.advance(minutes=1)
    await ingest(api, [{"source": "s", "title": f"b{i}"} for i in range(17)])
    for step, group in enumerate([range(0, 20, 4), range(3, 17, 5)]):
        clock.advance(minutes=1)
        prefix = "a" if step == 0 else "b"
        await ingest(api, [{"source": "s", "title": f"{prefix}{i}", "status": "resolved"} for i in group])
    clock.advance(minutes=1)
    await ingest(api, [{"source": "s", "title": f"a{i}"} for i in (1, 2, 3)])
    return api


class TestPagination:
    async def test_every_alert_exactly_once_in_order(self, many: Api) -> None:
        for sort in SORT_OPTIONS:
            full = (await list_alerts(many, sort=sort, limit=500))["items"]
            assert len(full) == 37
            assert_sorted(full, sort)
            for limit in (2, 36, 37):
                walked = await walk(many, sort=sort, limit=limit)
                assert [a["id"] for a in walked] == [a["id"] for a in full], (sort, limit)

    async def test_filtered_pages(self, many: Api) -> None:
        walked = await walk(many, status="resolved", sort="resolved_at", limit=2)
        assert len(walked) == 8
        assert all(a["status"] == "resolved" for a in walked)
        assert len({a["id"] for a in walked}) == 8

    async def test_new_alerts_do_not_shift_later_pages(self, many: Api) -> None:
        before = [a["id"] for a in (await list_alerts(many, limit=500))["items"]]
        first = await list_alerts(many, limit=10)
        for i in range(5):
            await ingest(many, {"source": "s", "title": f"new{i}"})
        seen = [a["id"] for a in first["items"]]
        cursor = first["next_cursor"]
        while cursor:
            page = await list_alerts(many, limit=10, cursor=cursor)
            seen += [a["id"] for a in page["items"]]
            cursor = page["next_cursor"]
        assert seen == before

    async def test_total_counts_all_matches_not_the_page(self, many: Api) -> None:
        page = await list_alerts(many, limit=3)
        assert (len(page["items"]), page["total"]) == (3, 37)
        assert (await list_alerts(many, limit=3, status="resolved"))["total"] == 8
        assert (await list_alerts(many, limit=3, status="active"))["total"] == 29
        later = await list_alerts(many, limit=3, cursor=page["next_cursor"])
        assert later["total"] == 37

    async def test_count_false_gives_no_total(self, many: Api) -> None:
        page = await list_alerts(many, limit=3, count="false")
        assert page["total"] is None
        assert len(page["items"]) == 3 and page["next_cursor"]

    async def test_last_page_has_no_cursor(self, many: Api) -> None:
        page = await list_alerts(many, limit=37)
        assert len(page["items"]) == 37 and page["next_cursor"] is None

    @staticmethod
    def forged(*parts: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()

    def bad_cursors(self, sort: str) -> list[str]:
        return [
            "garbage!",
            "bm90IGpzb24",  # "not json"
            self.forged(1),
            self.forged({"a": 1}),
            self.forged(sort, "yesterday", 5),
            self.forged(sort, None, "five"),
            self.forged(sort, None, 5, 6),
            self.forged(sort, "2026-03-01T12:00:00", 5),  # no time zone
            self.forged(sort, None, 99999999999999999999999),  # beyond any id
            self.forged(sort, None, 0),
            self.forged(None, 5),
        ]

    async def test_bad_cursor_is_422(self, api: Api) -> None:
        for sort in ("-created_at", "last_received_at"):
            for cursor in self.bad_cursors(sort):
                response = await api.client.get(ALERTS, params={"cursor": cursor, "sort": sort}, headers=api.auth())
                assert response.status_code == 422, (cursor, sort, response.text)
                assert "cursor" in response.json()["message"]

    async def test_a_cursor_of_another_sort_is_422(self, many: Api) -> None:
        cursor = (await list_alerts(many, sort="last_received_at", limit=2))["next_cursor"]
        assert (await list_alerts(many, sort="last_received_at", limit=2, cursor=cursor))["items"]
        for sort in ("-last_received_at", "created_at", "resolved_at"):
            response = await many.client.get(ALERTS, params={"cursor": cursor, "sort": sort}, headers=many.auth())
            assert response.status_code == 422, sort

    async def test_a_cursor_at_the_edge_of_time_is_no_server_error(self, api: Api) -> None:
        for value in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"):
            cursor = self.forged("last_received_at", value, 5)
            response = await api.client.get(
                ALERTS, params={"cursor": cursor, "sort": "last_received_at"}, headers=api.auth()
            )
            assert response.status_code in (200, 422), (value, response.text)


class TestOneAlert:
    async def test_timeline_is_led_by_the_received_event(self, seeded: Seeded) -> None:
        stored = await get_alert(seeded.api, seeded.ids["A"])
        first = stored["timeline"][0]
        assert first == {
            "id": None,
            "at": first["at"],
            "kind": "received",
            "actor": "source:prometheus",
            "detail": {},
        }
        assert parse_time(first["at"]) == seeded.created["A"] == parse_time(stored["first_received_at"])
        assert [e["kind"] for e in stored["timeline"]] == ["received", "duplicate"]
        assert parse_time(stored["timeline"][1]["at"]) == T0 + timedelta(minutes=30)

    async def test_detail_has_every_field(self, seeded: Seeded) -> None:
        stored = await get_alert(seeded.api, seeded.ids["B"])
        assert stored["labels"] == SEED["B"]["labels"]
        assert stored["tags"] == ["cpu"]
        assert stored["description"] == "100% CPU on web-1"
        assert stored["tenant"] == "default"
        assert parse_time(stored["starts_at"]) == parse_time("2026-03-01T09:00:00Z")
        assert stored["status"] == "acknowledged"
        assert parse_time(stored["acknowledged_at"]) == T0 + timedelta(minutes=10)

    async def test_list_items_have_no_timeline(self, seeded: Seeded) -> None:
        page = await list_alerts(seeded.api)
        assert all("timeline" not in item for item in page["items"])

    async def test_unknown_id_is_404(self, sqlite_seeded: Seeded) -> None:
        response = await sqlite_seeded.api.client.get(f"{ALERTS}/987654", headers=sqlite_seeded.api.auth())
        assert response.status_code == 404


@pytest.fixture
async def stats_api(sqlite_url: str, clock: Clock) -> AsyncIterator[Api]:
    async for made in make_clocked_api(sqlite_url, clock):
        yield made


async def stats(api: Api, **params: Any) -> dict[str, Any]:
    response = await api.client.get(f"{ALERTS}/stats", params=params, headers=api.auth())
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


class TestStats:
    async def test_counts_mtta_and_mttr(self, clocked_api: Api, clock: Clock) -> None:
        api = clocked_api
        clock.now = T0 - timedelta(days=2)
        await ingest(api, {"source": "old", "title": "outside the window"})
        clock.now = T0
        ids = [
            (await ingest(api, body))["id"]
            for body in (
                {"source": "prometheus", "severity": "critical", "title": "a"},
                {"source": "prometheus", "severity": "critical", "title": "b"},
                {"source": "zabbix", "severity": "warning", "title": "c"},
                {"source": "zabbix", "severity": "info", "title": "d"},
            )
        ]
        clock.now = T0 + timedelta(seconds=60)
        await api.client.post(f"{ALERTS}/{ids[0]}/acknowledge", headers=api.auth())
        clock.now = T0 + timedelta(seconds=180)
        await api.client.post(f"{ALERTS}/{ids[1]}/acknowledge", headers=api.auth())
        clock.now = T0 + timedelta(seconds=600)
        await api.client.post(f"{ALERTS}/{ids[0]}/resolve", headers=api.auth())
        clock.now = T0 + timedelta(seconds=300)
        await ingest(api, {"source": "zabbix", "severity": "info", "title": "d", "status": "resolved"})
        clock.now = T0 + timedelta(hours=1)

        figures = await stats(api)
        assert parse_time(figures["until"]) == clock.now
        assert parse_time(figures["since"]) == clock.now - timedelta(hours=24)
        assert figures["total"] == 4
        assert figures["by_status"] == {"acknowledged": 1, "resolved": 2, "firing": 1}
        assert figures["by_severity"] == {"critical": 2, "warning": 1, "info": 1}
        assert figures["by_source"] == {"prometheus": 2, "zabbix": 2}
        assert figures["acknowledged"] == 2
        assert figures["mtta_seconds"] == pytest.approx(120.0)
        assert figures["resolved"] == 2
        assert figures["mttr_seconds"] == pytest.approx(450.0)

        window = await stats(api, since=iso(T0 - timedelta(days=3)), until=iso(T0))
        assert window["total"] == 1 and window["by_source"] == {"old": 1}
        assert (window["mtta_seconds"], window["mttr_seconds"]) == (None, None)
        assert (window["acknowledged"], window["resolved"]) == (0, 0)

    async def test_empty_window(self, stats_api: Api) -> None:
        figures = await stats(stats_api)
        assert figures["total"] == 0
        assert figures["by_status"] == figures["by_severity"] == figures["by_source"] == {}
        assert figures["mtta_seconds"] is None and figures["mttr_seconds"] is None

    @pytest.mark.parametrize(
        "params",
        [
            {"since": "2026-03-01T00:00:00"},
            {"until": "2026-03-01T00:00:00"},
            {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
            {"since": "2026-03-01T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        ],
    )
    async def test_bad_windows_are_422(self, stats_api: Api, params: dict[str, str]) -> None:
        response = await stats_api.client.get(f"{ALERTS}/stats", params=params, headers=stats_api.auth())
        assert response.status_code == 422
