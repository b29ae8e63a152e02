"""The routing tree, with Alertmanager's semantics (its dispatch/route.go).

- The root route matches every alert.
- A route's children are tried in order; a child that matches is descended into. Unless that
  child has `continue: true`, its later siblings are not tried.
- A route whose children take none of the alert is itself the match (so the root is the
  default route).
- A child inherits receiver, group_by, group_wait, group_interval and repeat_interval from its
  parent unless it sets them. Mute and active time intervals apply only to the route that
  names them (as in Alertmanager, where they are not inherited).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

from alert_handler.domain.matchers import Matcher
from alert_handler.routing.models import (
    DEFAULT_GROUP_INTERVAL,
    DEFAULT_GROUP_WAIT,
    DEFAULT_REPEAT_INTERVAL,
    GROUP_BY_ALL,
    RouteConfig,
)


@dataclass(frozen=True, slots=True)
class GroupSettings:
    """How alerts of one route are grouped and how often their group is notified.

    `group_by_all` groups by every label (`group_by: ['...']`); otherwise by `group_by`, and an
    empty `group_by` puts all the route's alerts into one group."""

    group_by: tuple[str, ...] = ()
    group_by_all: bool = False
    group_wait: timedelta = DEFAULT_GROUP_WAIT
    group_interval: timedelta = DEFAULT_GROUP_INTERVAL
    repeat_interval: timedelta = DEFAULT_REPEAT_INTERVAL


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A route an alert ends at: where it is in the file, who is told, how it is grouped."""

    path: str
    receiver: str
    group: GroupSettings
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """One node with its effective (inherited) settings."""

    path: str
    receiver: str
    group: GroupSettings
    matchers: tuple[Matcher, ...]
    continue_: bool
    mute_time_intervals: tuple[str, ...]
    active_time_intervals: tuple[str, ...]
    routes: tuple[Route, ...]

    @classmethod
    def build(cls, config: RouteConfig) -> Route:
        """The tree for a validated root route config (which must name a receiver)."""
        if not config.receiver:
            raise ValueError("route: the root route needs a receiver")
        return cls._build(config, config.receiver, GroupSettings(), "route")

    @classmethod
    def _build(cls, config: RouteConfig, receiver: str, inherited: GroupSettings, path: str) -> Route:
        if config.group_by is None:
            group_by, group_by_all = inherited.group_by, inherited.group_by_all
        elif GROUP_BY_ALL in config.group_by:
            group_by, group_by_all = (), True
        else:
            group_by, group_by_all = tuple(config.group_by), False
        group = GroupSettings(
            group_by=group_by,
            group_by_all=group_by_all,
            group_wait=inherited.group_wait if config.group_wait is None else config.group_wait,
            group_interval=inherited.group_interval if config.group_interval is None else config.group_interval,
            repeat_interval=inherited.repeat_interval if config.repeat_interval is None else config.repeat_interval,
        )
        receiver = config.receiver or receiver
        return cls(
            path=path,
            receiver=receiver,
            group=group,
            matchers=tuple(config.matchers),
            continue_=config.continue_,
            mute_time_intervals=tuple(config.mute_time_intervals),
            active_time_intervals=tuple(config.active_time_intervals),
            routes=tuple(
                cls._build(child, receiver, group, f"{path}.routes[{index}]")
                for index, child in enumerate(config.routes)
            ),
        )

    def matches_labels(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches_labels(labels) for m in self.matchers)

    def match(self, labels: Mapping[str, str]) -> list[RouteMatch]:
        """The routes the alert ends at, depth first, left to right; empty only when this
        route's own matchers refuse it (never for the root)."""
        if not self.matches_labels(labels):
            return []
        found: list[RouteMatch] = []
        for child in self.routes:
            matched = child.match(labels)
            found += matched
            if matched and not child.continue_:
                break
        return found or [self.as_match()]

    def as_match(self) -> RouteMatch:
        return RouteMatch(self.path, self.receiver, self.group, self.mute_time_intervals, self.active_time_intervals)

    def walk(self) -> Iterator[Route]:
        """This route and every route below it, depth first."""
        yield self
        for child in self.routes:
            yield from child.walk()
