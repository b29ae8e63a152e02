"""The effective configuration: the file's sections with the objects made through the API added.

Objects of the list kinds (receivers, rules, inhibit_rules, time_intervals, escalation_policies,
integrations)
follow the file's entries; `routes` objects are named child routes after the root route's own
children. API objects come in name order. A name the file already uses for that kind is refused.
Every problem keeps saying where it is: in the file (`route.routes[2].receiver`) or in an API
object (`api:routes/db: receiver`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alert_handler.routing.config import InvalidConfig
from alert_handler.routing.references import Loc, Problem, format_loc

KINDS = ("receivers", "routes", "rules", "inhibit_rules", "time_intervals", "escalation_policies", "integrations")
LIST_KINDS = tuple(kind for kind in KINDS if kind != "routes")
# Kinds whose model has a `name` field; a route's name lives only with the stored object.
NAMED_KINDS = LIST_KINDS


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """An API-made object as the merge sees it."""

    kind: str
    name: str
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Placed:
    """Where an API object sits in the merged data: `("rules", 4)`, `("route", "routes", 2)`."""

    kind: str
    name: str
    loc: Loc


def unnamed(kind: str, index: int) -> str:
    """The name shown for a file object that has none (file routes, unnamed inhibit rules)."""
    return f"route.routes[{index}]" if kind == "routes" else f"{kind}[{index}]"


def file_names(file_data: Mapping[str, Any]) -> dict[str, set[str]]:
    """The names each kind has in the file (as written; the file's own problems come later)."""
    names: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for kind in LIST_KINDS:
        section = file_data.get(kind)
        for index, item in enumerate(section if isinstance(section, list) else []):
            name = item.get("name") if isinstance(item, dict) else None
            names[kind].add(name.strip() if isinstance(name, str) else unnamed(kind, index))
    route = file_data.get("route")
    children = route.get("routes") if isinstance(route, dict) else None
    names["routes"] = {unnamed("routes", i) for i in range(len(children) if isinstance(children, list) else 0)}
    return names


@dataclass(frozen=True, slots=True)
class Merged:
    data: dict[str, Any]
    placed: tuple[Placed, ...]
    problems: tuple[Problem, ...]  # refused objects (name collisions), located by `placed`


def merge(file_data: Mapping[str, Any], objects: Iterable[ObjectSpec]) -> Merged:
    data = dict(file_data)
    sections: dict[str, list[Any]] = {}
    for kind in LIST_KINDS:
        section = data.get(kind)
        if section is None or isinstance(section, list):
            sections[kind] = data[kind] = list(section or [])
    route = data.get("route")
    if isinstance(route, dict) and isinstance(route.get("routes", []), list):
        route = data["route"] = dict(route)
        sections["routes"] = route["routes"] = list(route.get("routes") or [])
    taken = file_names(file_data)
    placed: list[Placed] = []
    problems: list[Problem] = []
    for obj in sorted(objects, key=lambda o: (o.kind, o.name)):
        if obj.kind not in KINDS:
            continue
        if obj.name in taken[obj.kind]:
            refused = Placed(obj.kind, obj.name, ("config_objects", obj.kind, obj.name))
            placed.append(refused)
            problems.append(
                Problem(refused.loc, f"the file defines {obj.kind} {obj.name!r} too; rename or delete this object")
            )
            continue
        target = sections.get(obj.kind)
        if target is None:  # the file's section is broken; its own problem says so
            continue
        body = dict(obj.body)
        if obj.kind in NAMED_KINDS:
            body["name"] = obj.name
        where: Loc = ("route", "routes", len(target)) if obj.kind == "routes" else (obj.kind, len(target))
        target.append(body)
        placed.append(Placed(obj.kind, obj.name, where))
    return Merged(data, tuple(placed), tuple(problems))


class InvalidMerge(InvalidConfig):
    """Problems of the file and of API objects together; `lines()` names each one's origin."""

    def __init__(self, source: str, problems: Sequence[Problem], placed: Sequence[Placed]) -> None:
        self.placed = tuple(placed)
        super().__init__(source, list(problems))

    def locate(self, problem: Problem) -> tuple[Placed, Loc] | None:
        """The API object a problem is in, and the problem's path inside it."""
        for where in self.placed:
            if problem.loc[: len(where.loc)] == where.loc:
                return where, problem.loc[len(where.loc) :]
        return None

    def describe(self, problem: Problem) -> str:
        found = self.locate(problem)
        if found is None:
            return (
                f"{self.source}: {problem.path}: {problem.message}"
                if problem.loc
                else f"{self.source}: {problem.message}"
            )
        where, rest = found
        inside = f"{format_loc(rest)}: " if rest else ""
        return f"api:{where.kind}/{where.name}: {inside}{problem.message}"

    def lines(self) -> list[str]:
        return [self.describe(p) for p in self.problems]

    def inside(self, kind: str, name: str) -> list[tuple[Loc, str]]:
        """(path inside the object, message) for the problems of one API object."""
        found = []
        for problem in self.problems:
            located = self.locate(problem)
            if located is not None and (located[0].kind, located[0].name) == (kind, name):
                found.append((located[1], problem.message))
        return found
