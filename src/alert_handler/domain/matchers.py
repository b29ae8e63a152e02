"""Label matchers with Alertmanager's syntax and semantics.

`name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`; regular expressions are
fully anchored; a label that is absent has the value "" (so `team=""` matches alerts without
`team`). Values may be quoted (with `\\"`, `\\\\` and `\\n` escapes) or bare.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class MatchOp(StrEnum):
    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


class MatcherError(ValueError):
    """A matcher that cannot be parsed; the message says what is wrong."""


_MATCHER = re.compile(r"""^\s*([a-zA-Z_][a-zA-Z0-9_.\-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$""", re.DOTALL)
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(cls, name: str, op: MatchOp | str, value: str) -> Matcher:
        op = MatchOp(op)
        regex = None
        if op in (MatchOp.RE, MatchOp.NRE):
            try:
                regex = re.compile(f"^(?:{value})$", re.DOTALL)
            except re.error as exc:
                raise MatcherError(f"invalid regular expression {value!r}: {exc}") from exc
        return cls(name, op, value, regex)

    @property
    def anchored_pattern(self) -> str:
        return f"^(?:{self.value})$"

    def matches(self, value: str) -> bool:
        if self.op is MatchOp.EQ:
            return value == self.value
        if self.op is MatchOp.NE:
            return value != self.value
        assert self._regex is not None
        hit = self._regex.match(value) is not None
        return hit if self.op is MatchOp.RE else not hit

    def matches_labels(self, labels: Mapping[str, str]) -> bool:
        return self.matches(labels.get(self.name, ""))

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op.value}"{escaped}"'


def _unquote(raw: str) -> str:
    if len(raw) < 2 or not (raw.startswith('"') and raw.endswith('"')):
        if '"' in raw:
            raise MatcherError(f"unbalanced quotes in value {raw!r}")
        return raw
    body, out, i = raw[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _ESCAPES:
                raise MatcherError(f"invalid escape in value {raw!r}")
            out.append(_ESCAPES[body[i + 1]])
            i += 2
            continue
        if ch == '"':
            raise MatcherError(f"unescaped quote in value {raw!r}")
        out.append(ch)
        i += 1
    return "".join(out)


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher such as `team="db"` or `instance=~"web-.*"`."""
    found = _MATCHER.match(text)
    if not found:
        raise MatcherError(f"{text!r} is not a matcher: expected name, an operator (=, !=, =~, !~) and a value")
    name, op, raw = found.groups()
    return Matcher.create(name, op, _unquote(raw))


def parse_matchers(text: str) -> list[Matcher]:
    """Parse `{a="1", b=~"x|y"}` or `a="1",b=~"x|y"` (amtool's forms) into matchers."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    parts, current, quoted, escaped = [], [], False, False
    for ch in body:
        if escaped:
            current.append(ch)
            escaped = False
            continue
        if ch == "\\" and quoted:
            escaped = True
            current.append(ch)
            continue
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    if quoted:
        raise MatcherError(f"unbalanced quotes in {text!r}")
    parts.append("".join(current))
    return [parse_matcher(p) for p in parts if p.strip()]


def matches_all(matchers: list[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches_labels(labels) for m in matchers)
