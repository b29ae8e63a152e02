"""Properties of the routing tree that hold for any tree and any alert."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alert_handler.routing.models import RouteConfig
from alert_handler.routing.tree import Route

_VALUES = st.sampled_from(["1", "2", "3"])
_NAMES = st.sampled_from(["a", "b", "c"])
_MATCHER = st.builds(lambda n, op, v: f'{n}{op}"{v}"', _NAMES, st.sampled_from(["=", "!=", "=~", "!~"]), _VALUES)


def _route(depth: int) -> st.SearchStrategy[dict[str, object]]:
    children = st.lists(_route(depth - 1), max_size=3) if depth else st.just([])
    return st.fixed_dictionaries(
        {"matchers": st.lists(_MATCHER, max_size=2), "continue": st.booleans(), "routes": children},
        optional={"receiver": st.sampled_from(["x", "y", "z"]), "group_wait": st.sampled_from(["0s", "1m"])},
    )


_TREES = st.builds(lambda routes: {"receiver": "root", "routes": routes}, st.lists(_route(2), max_size=3))
_LABELS = st.dictionaries(_NAMES, _VALUES)


def _node(root: Route, path: str) -> Route:
    return next(r for r in root.walk() if r.path == path)


@given(_TREES, _LABELS)
def test_every_alert_ends_somewhere_and_only_on_routes_that_match_it(
    data: dict[str, object], labels: dict[str, str]
) -> None:
    root = Route.build(RouteConfig.model_validate(data))
    matches = root.match(labels)
    assert matches, "the root takes every alert no child takes"
    assert len({m.path for m in matches}) == len(matches)
    for match in matches:
        node = _node(root, match.path)
        # Every route on the way down matches, and the leaf reports its own settings.
        assert all(_node(root, p).matches_labels(labels) for p in _ancestors(match.path))
        assert (match.receiver, match.group) == (node.receiver, node.group)


def _ancestors(path: str) -> list[str]:
    out = [path]
    while "." in out[-1]:
        out.append(out[-1].rsplit(".", 1)[0])
    return out


@given(_TREES, _LABELS)
def test_without_continue_an_alert_ends_at_exactly_one_route(data: dict[str, object], labels: dict[str, str]) -> None:
    def drop_continue(node: dict[str, object]) -> dict[str, object]:
        children = node.get("routes", [])
        assert isinstance(children, list)
        return {**node, "continue": False, "routes": [drop_continue(c) for c in children]}

    root = Route.build(RouteConfig.model_validate({**drop_continue(data), "continue": False}))
    assert len(root.match(labels)) == 1
