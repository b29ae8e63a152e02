"""CEL expressions over an alert (cel-python's interpreter: no Python eval, no attribute access).

An expression sees the names of `AlertView.as_dict()` (`NAMES`). It is parsed and its names and
functions checked once, when the configuration is loaded; evaluating it never raises: an error
(a missing key, a wrong type) comes back as text.

Numbers: JSON gives ints and doubles, and CEL refuses to compare the two (`95 > 90.0` is an
error in cel-python). Comparisons here follow the current CEL specification instead, which
compares numbers across types, so `metadata.cpu_usage > 90` and `> 90.0` both work whether the
value is 95 or 95.5. Arithmetic stays strict: `double(metadata.cpu_usage) * 1.5`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import base_functions

from alert_handler.routing.view import AlertView

NAMES = frozenset(
    {
        "id",
        "tenant",
        "fingerprint",
        "status",
        "severity",
        "source",
        "title",
        "description",
        "labels",
        "annotations",
        "tags",
        "metadata",
        "owner",
        "team",
    }
)
_GLOBAL_MACROS = frozenset({"has", "dyn"})
_METHOD_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_NUMBERS = (celtypes.IntType, celtypes.UintType, celtypes.DoubleType)
_MAX_ERROR = 300
# For error texts: cel-python names grammar rules and Python classes where a reader wants `>` and `int`.
_RELATION = re.compile(r"Token\('RULE', '(\w+)'\)")
_OPERATORS = {
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_in": "in",
    "addition_add": "+",
    "addition_sub": "-",
    "multiplication_mul": "*",
    "multiplication_div": "/",
    "multiplication_mod": "%",
}
_TYPE = re.compile(r"<class '(?:celpy\.celtypes\.(\w+)|(NoneType))'>")


class CelError(ValueError):
    """An expression that cannot be used; the message says why, for the configuration's reader."""


def _plain(value: Any) -> int | float:
    return float(value) if isinstance(value, celtypes.DoubleType) else int(value)


def _across_numbers(name: str, compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    strict = base_functions[name]
    equality = name in ("_==_", "_!=_")

    def relation(left: Any, right: Any) -> Any:
        if isinstance(left, _NUMBERS) and isinstance(right, _NUMBERS) and type(left) is not type(right):
            # Python compares int and float exactly, without rounding the int.
            return celtypes.BoolType(compare(_plain(left), _plain(right)))
        try:
            return strict(left, right)
        except TypeError:
            if not equality:
                raise
            # As the CEL specification says: values of different types are not equal.
            return celtypes.BoolType(name == "_!=_")

    return relation


_FUNCTIONS = {
    "_<_": _across_numbers("_<_", operator.lt),
    "_<=_": _across_numbers("_<=_", operator.le),
    "_>_": _across_numbers("_>_", operator.gt),
    "_>=_": _across_numbers("_>=_", operator.ge),
    "_==_": _across_numbers("_==_", operator.eq),
    "_!=_": _across_numbers("_!=_", operator.ne),
}
_KNOWN_FUNCTIONS = frozenset(base_functions) | frozenset(_FUNCTIONS)
# The interpreter; cel-python's CompiledRunner would turn expressions into Python and exec them.
_ENVIRONMENT = celpy.Environment(runner_class=celpy.InterpretedRunner)
# Protobuf wrapper types (google.protobuf.*) mean nothing to an alert, and loading them into
# every evaluation's activation costs a fifth of its time.
_ENVIRONMENT.annotations.clear()


class Values:
    """One alert's names as CEL values, each converted on first use and then kept."""

    __slots__ = ("_converted", "_raw")

    def __init__(self, view: AlertView) -> None:
        self._raw = view.as_dict()
        self._converted: dict[str, Any] = {}

    def activation(self, names: frozenset[str]) -> dict[str, Any]:
        found = {}
        for name in names:
            value = self._converted.get(name)
            if value is None:
                value = self._converted[name] = json_to_cel(self._raw[name])
            found[name] = value
        return found


@dataclass(frozen=True, slots=True)
class Expression:
    source: str
    names: frozenset[str]  # the alert's names it reads: only those are converted for it
    _program: Any

    def evaluate(self, values: Values) -> tuple[bool, str | None]:
        """(matched, error): an error means no match and says why."""
        try:
            result = self._program.evaluate(values.activation(self.names))
        except Exception as exc:  # a rule on bad data must not stop processing
            return False, _error_text(exc)
        if not isinstance(result, celtypes.BoolType):
            return False, f"the expression gave {type(result).__name__.removesuffix('Type').lower()}, not a bool"
        return bool(result), None


def compile_expression(source: str) -> Expression:
    """Parse and check once; raises CelError naming the problem."""
    try:
        ast = _ENVIRONMENT.compile(source)
    except CELParseError as exc:
        raise CelError(_syntax_error(source, exc)) from None
    unknown = sorted(set(_unknown_references(ast)))
    if unknown:
        raise CelError(
            f"unknown {', '.join(unknown)} in the CEL expression; "
            f"an expression sees {', '.join(sorted(NAMES))} and CEL's standard functions"
        )
    names = frozenset(_idents(ast)) & NAMES
    return Expression(source, names, _ENVIRONMENT.program(ast, functions=_FUNCTIONS))


def _syntax_error(source: str, exc: CELParseError) -> str:
    where = f"line {exc.line}, column {exc.column}" if exc.line and exc.column else "the end"
    lines = source.splitlines() or [source]
    near = ""
    if exc.line and exc.column and exc.line <= len(lines):
        rest = lines[exc.line - 1][exc.column - 1 :][:20]
        near = f" near {rest!r}" if rest.strip() else " (it ends too early)"
    return f"not a valid CEL expression: syntax error at {where}{near}"


def _error_text(exc: Exception) -> str:
    text = str(exc.args[0] if exc.args else exc)
    # cel-python appends the whole activation to an undeclared reference; the name is enough.
    text = text.split(" (in activation", 1)[0]
    text = _RELATION.sub(lambda m: _OPERATORS.get(m[1], m[1]), text)
    text = _TYPE.sub(lambda m: (m[1] or m[2]).removesuffix("Type").lower().replace("none", "null"), text)
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def _unknown_references(ast: lark.Tree[Any]) -> Iterator[str]:
    """Names no alert has and functions CEL lacks: typos found at load instead of per alert."""
    bound: set[str] = set()
    for node in ast.iter_subtrees():
        if node.data == "member_dot_arg" and _token(node, 1) in _METHOD_MACROS and len(node.children) > 2:
            args = node.children[2]
            if isinstance(args, lark.Tree) and args.children:
                first = args.children[0]
                if isinstance(first, lark.Tree):
                    bound.update(_idents(first))
    for node in ast.iter_subtrees():
        if node.data == "ident":
            name = _token(node, 0)
            if name not in NAMES and name not in bound and name not in _KNOWN_FUNCTIONS:
                yield f"name {name!r}"
        elif node.data == "ident_arg":
            name = _token(node, 0)
            if name not in _KNOWN_FUNCTIONS and name not in _GLOBAL_MACROS:
                yield f"function {name!r}"
        elif node.data == "member_dot_arg":
            name = _token(node, 1)
            if name not in _KNOWN_FUNCTIONS and name not in _METHOD_MACROS:
                yield f"function {name!r}"


def _token(node: lark.Tree[Any], index: int) -> str:
    child = node.children[index] if len(node.children) > index else None
    return str(child) if isinstance(child, lark.Token) else ""


def _idents(tree: lark.Tree[Any]) -> Iterator[str]:
    for node in tree.iter_subtrees():
        if node.data == "ident":
            yield _token(node, 0)
