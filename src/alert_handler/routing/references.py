"""Checks across a whole configuration: unique names, references that resolve, a root route
that can take every alert. Each problem names its path (`route.routes[2].receiver`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from alert_handler.channels.registry import BUILTIN, channel_types, check_settings
from alert_handler.muting.time_intervals import parse_time_interval
from alert_handler.routing.models import Config, RouteConfig

BUILTIN_RECEIVER_TYPES = frozenset(BUILTIN)

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    loc: Loc
    message: str

    @property
    def path(self) -> str:
        return format_loc(self.loc)


def format_loc(loc: Iterable[str | int]) -> str:
    """`("route", "routes", 2, "matchers", 0)` -> `route.routes[2].matchers[0]`."""
    text = ""
    for piece in loc:
        if isinstance(piece, int):
            text += f"[{piece}]"
        else:
            text += f".{piece}" if text else piece
    return text or "(top level)"


def _duplicates(section: str, names: list[str] | list[str | None]) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name is None:
            continue
        if name in seen:
            yield Problem((section, index, "name"), f"duplicate name {name!r}")
        seen.add(name)


def _unknown(loc: Loc, kind: str, name: str, known: Collection[str]) -> Problem:
    hint = f"; defined: {', '.join(sorted(known))}" if known else f"; no {kind}s are defined"
    return Problem(loc, f"unknown {kind} {name!r}{hint}")


def _walk(route: RouteConfig, loc: Loc) -> Iterator[tuple[RouteConfig, Loc]]:
    yield route, loc
    for index, child in enumerate(route.routes):
        yield from _walk(child, (*loc, "routes", index))


def _root(route: RouteConfig) -> Iterator[Problem]:
    if not route.receiver:
        yield Problem(("route", "receiver"), "the root route needs a receiver (it takes every alert no child takes)")
    if route.matchers:
        yield Problem(("route", "matchers"), "the root route matches every alert and cannot have matchers")
    if route.continue_:
        yield Problem(("route", "continue"), "the root route cannot have continue")
    if route.mute_time_intervals:
        yield Problem(("route", "mute_time_intervals"), "the root route cannot have mute time intervals")
    if route.active_time_intervals:
        yield Problem(("route", "active_time_intervals"), "the root route cannot have active time intervals")


def check_references(config: Config, receiver_types: Collection[str] = BUILTIN_RECEIVER_TYPES) -> list[Problem]:
    """Every problem that needs more than one object to see, in file order."""
    receivers = {r.name for r in config.receivers}
    intervals = {t.name for t in config.time_intervals}
    policies = {p.name for p in config.escalation_policies}
    problems = [
        *_duplicates("receivers", [r.name for r in config.receivers]),
        *_duplicates("time_intervals", [t.name for t in config.time_intervals]),
        *_duplicates("rules", [r.name for r in config.rules]),
        *_duplicates("escalation_policies", [p.name for p in config.escalation_policies]),
        *_duplicates("inhibit_rules", [r.name for r in config.inhibit_rules]),
        *_duplicates("integrations", [i.name for i in config.integrations]),
    ]
    for index, receiver in enumerate(config.receivers):
        if receiver.type not in receiver_types:
            problems.append(
                Problem(
                    ("receivers", index, "type"),
                    f"unknown receiver type {receiver.type!r}; available: {', '.join(sorted(receiver_types))}",
                )
            )
        elif receiver.type in channel_types():
            for where, message in check_settings(receiver.type, receiver.settings):
                problems.append(Problem(("receivers", index, "settings", *where), message))
    for index, interval in enumerate(config.time_intervals):
        try:
            parse_time_interval(interval.name, interval.time_intervals)
        except ValueError as exc:
            message = str(exc).removeprefix(f"time interval {interval.name!r}: ")
            problems.append(Problem(("time_intervals", index), message))
    problems += _root(config.route)
    for route, loc in _walk(config.route, ("route",)):
        if route.receiver and route.receiver not in receivers:
            problems.append(_unknown((*loc, "receiver"), "receiver", route.receiver, receivers))
        for key in ("mute_time_intervals", "active_time_intervals"):
            for index, name in enumerate(getattr(route, key)):
                if name not in intervals:
                    problems.append(_unknown((*loc, key, index), "time interval", name, intervals))
    for index, rule in enumerate(config.rules):
        loc = ("rules", index, "effects")
        for position, name in enumerate(rule.effects.route_to):
            if name not in receivers:
                problems.append(_unknown((*loc, "route_to", position), "receiver", name, receivers))
        policy = rule.effects.escalation_policy
        if policy and policy not in policies:
            problems.append(_unknown((*loc, "escalation_policy"), "escalation policy", policy, policies))
    for index, escalation in enumerate(config.escalation_policies):
        for step_index, step in enumerate(escalation.steps):
            for position, name in enumerate(step.receivers):
                if name not in receivers:
                    loc = ("escalation_policies", index, "steps", step_index, "receivers", position)
                    problems.append(_unknown(loc, "receiver", name, receivers))
    return problems
