"""The routing tree against Alertmanager's own examples (docs/configuration.md and
dispatch/route_test.go), plus properties that hold for any tree."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from alert_handler.routing.models import RouteConfig
from alert_handler.routing.tree import GroupSettings, Route, RouteMatch

DEFAULT = GroupSettings()


def tree(text: str) -> Route:
    return Route.build(RouteConfig.model_validate(yaml.safe_load(text)))


def paths(route: Route, labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(m.path, m.receiver) for m in route.match(labels)]


# The tree of Alertmanager's TestRouteMatchers (dispatch/route_test.go), in matcher syntax.
AM_TREE = tree(
    """
receiver: notify-def
routes:
- matchers: ['{owner="team-A"}', '{level!="critical"}']
  receiver: notify-A
  routes:
  - matchers: ['{env="testing"}', '{baz!~".*quux"}']
    receiver: notify-testing
    group_by: [...]
  - matchers: ['{env="production"}']
    receiver: notify-productionA
    group_wait: 1m
    continue: true
  - matchers: [env=~"produ.*", job=~".*"]
    receiver: notify-productionB
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 1h
    group_by: [job]
- matchers: [owner=~"team-(B|C)"]
  group_by: [foo, bar]
  group_wait: 2m
  receiver: notify-BC
- matchers: [group_by="role"]
  group_by: [role]
  routes:
  - matchers: ['{env="testing"}']
    receiver: notify-testing
    routes:
    - matchers: [wait="long"]
      group_wait: 2m
"""
)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"owner": "team-A"}, [("route.routes[0]", "notify-A", DEFAULT)]),
        ({"owner": "team-A", "env": "unset"}, [("route.routes[0]", "notify-A", DEFAULT)]),
        (
            {"owner": "team-C"},
            [("route.routes[1]", "notify-BC", GroupSettings(("foo", "bar"), group_wait=timedelta(minutes=2)))],
        ),
        (
            {"owner": "team-A", "env": "testing"},
            [("route.routes[0].routes[0]", "notify-testing", GroupSettings(group_by_all=True))],
        ),
        (
            {"owner": "team-A", "env": "production"},
            [
                ("route.routes[0].routes[1]", "notify-productionA", GroupSettings(group_wait=timedelta(minutes=1))),
                (
                    "route.routes[0].routes[2]",
                    "notify-productionB",
                    GroupSettings(("job",), repeat_interval=timedelta(hours=1)),
                ),
            ],
        ),
        ({"group_by": "role"}, [("route.routes[2]", "notify-def", GroupSettings(("role",)))]),
        (
            {"env": "testing", "group_by": "role"},
            [("route.routes[2].routes[0]", "notify-testing", GroupSettings(("role",)))],
        ),
        (
            {"env": "testing", "group_by": "role", "wait": "long"},
            [
                (
                    "route.routes[2].routes[0].routes[0]",
                    "notify-testing",
                    GroupSettings(("role",), group_wait=timedelta(minutes=2)),
                )
            ],
        ),
        # Not in Alertmanager's table: a critical team-A alert fails `level!="critical"` and
        # stays at the root; an alert nobody claims goes to the default receiver.
        ({"owner": "team-A", "level": "critical"}, [("route", "notify-def", DEFAULT)]),
        ({}, [("route", "notify-def", DEFAULT)]),
        # `baz!~".*quux"` refuses the testing route, so the alert stays at notify-A.
        ({"owner": "team-A", "env": "testing", "baz": "fooquux"}, [("route.routes[0]", "notify-A", DEFAULT)]),
    ],
)
def test_alertmanager_route_matchers_table(
    labels: dict[str, str], expected: list[tuple[str, str, GroupSettings]]
) -> None:
    assert [(m.path, m.receiver, m.group) for m in AM_TREE.match(labels)] == expected


def test_walk_visits_every_route_depth_first_with_inherited_receivers() -> None:
    # Alertmanager's TestRouteWalk: unnamed routes show the receiver they inherit.
    assert [r.receiver for r in AM_TREE.walk()] == [
        "notify-def",
        "notify-A",
        "notify-testing",
        "notify-productionA",
        "notify-productionB",
        "notify-BC",
        "notify-def",
        "notify-testing",
        "notify-testing",
    ]


def test_group_by_all_is_inherited_until_a_child_names_labels() -> None:
    # Alertmanager's TestInheritParentGroupByAll.
    root = tree(
        """
receiver: r
routes:
- matchers: [env="parent"]
  group_by: ['...']
  routes:
  - matchers: [env="child1"]
  - matchers: [env="child2"]
    group_by: [foo]
"""
    )
    parent = root.routes[0]
    assert parent.group.group_by_all
    assert parent.routes[0].group.group_by_all
    assert not parent.routes[1].group.group_by_all
    assert parent.routes[1].group.group_by == ("foo",)
    assert not root.group.group_by_all


# The example of Alertmanager's docs/configuration.md ("route" section).
DOCS_TREE = tree(
    """
receiver: default-receiver
group_wait: 30s
group_interval: 5m
repeat_interval: 4h
group_by: [cluster, alertname]
routes:
- receiver: database-pager
  group_wait: 10s
  matchers: [service=~"mysql|cassandra"]
- receiver: frontend-pager
  group_by: [product, environment]
  matchers: [team="frontend"]
- receiver: dev-pager
  matchers: [service="inhouse-service"]
  mute_time_intervals: [offhours, holidays]
  continue: true
- receiver: on-call-pager
  matchers: [service="inhouse-service"]
  active_time_intervals: [offhours, holidays]
"""
)


def test_docs_example_default_route() -> None:
    [only] = DOCS_TREE.match({"alertname": "DiskFull", "service": "web"})
    assert only == RouteMatch("route", "default-receiver", GroupSettings(("cluster", "alertname")))


def test_docs_example_database_pager_inherits_group_by_and_overrides_group_wait() -> None:
    [only] = DOCS_TREE.match({"service": "cassandra", "team": "frontend"})
    # The first matching sibling wins: the frontend route is never tried.
    assert only.receiver == "database-pager"
    assert only.group == GroupSettings(("cluster", "alertname"), group_wait=timedelta(seconds=10))


def test_docs_example_regex_is_anchored() -> None:
    assert paths(DOCS_TREE, {"service": "mysql-replica"}) == [("route", "default-receiver")]


def test_docs_example_frontend_regroups() -> None:
    [only] = DOCS_TREE.match({"team": "frontend"})
    assert (only.receiver, only.group.group_by) == ("frontend-pager", ("product", "environment"))


def test_docs_example_continue_reaches_the_next_sibling_and_time_intervals_stay_on_their_route() -> None:
    first, second = DOCS_TREE.match({"service": "inhouse-service"})
    assert (first.path, first.receiver, first.mute_time_intervals) == (
        "route.routes[2]",
        "dev-pager",
        ("offhours", "holidays"),
    )
    assert first.active_time_intervals == ()
    assert (second.path, second.receiver, second.active_time_intervals) == (
        "route.routes[3]",
        "on-call-pager",
        ("offhours", "holidays"),
    )
    assert second.mute_time_intervals == ()


def test_time_intervals_are_not_inherited() -> None:
    # As in Alertmanager (dispatch/route.go sets them from the route itself, never the parent).
    root = tree(
        """
receiver: r
routes:
- matchers: [a="1"]
  mute_time_intervals: [night]
  routes:
  - matchers: [b="1"]
"""
    )
    assert root.match({"a": "1"})[0].mute_time_intervals == ("night",)
    assert root.match({"a": "1", "b": "1"})[0].mute_time_intervals == ()


def test_continue_on_a_child_whose_subtree_matched_still_lets_siblings_run() -> None:
    root = tree(
        """
receiver: r
routes:
- matchers: [a="1"]
  continue: true
  receiver: x
  routes:
  - matchers: [b="1"]
    receiver: y
- matchers: [a="1"]
  receiver: z
- receiver: never
"""
    )
    assert paths(root, {"a": "1", "b": "1"}) == [("route.routes[0].routes[0]", "y"), ("route.routes[1]", "z")]
    assert paths(root, {"a": "1"}) == [("route.routes[0]", "x"), ("route.routes[1]", "z")]
    # A child without matchers takes everything the earlier siblings left.
    assert paths(root, {"a": "2"}) == [("route.routes[2]", "never")]


def test_a_continue_child_that_does_not_match_is_skipped() -> None:
    root = tree(
        """
receiver: r
routes:
- {matchers: [a="1"], continue: true, receiver: x}
- {matchers: [a="2"], receiver: y}
"""
    )
    assert paths(root, {"a": "2"}) == [("route.routes[1]", "y")]
    assert paths(root, {"a": "3"}) == [("route", "r")]


def test_a_parent_is_never_returned_with_its_children() -> None:
    root = tree(
        """
receiver: r
routes:
- matchers: [a="1"]
  receiver: p
  routes:
  - {matchers: [b="1"], receiver: c, continue: true}
  - {matchers: [b="2"], receiver: d}
"""
    )
    assert paths(root, {"a": "1", "b": "1"}) == [("route.routes[0].routes[0]", "c")]
    assert paths(root, {"a": "1", "b": "3"}) == [("route.routes[0]", "p")]


def test_a_root_without_receiver_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="the root route needs a receiver"):
        tree("routes: [{receiver: x}]")
