"""Paths into a JSON document, as the generic webhook's field mapping writes them.

    alert.labels              keys separated by dots (a leading `$.` is allowed and ignored)
    alerts[0].title           a list index in brackets
    data["host.name"]         a key with dots or other characters, quoted in brackets

Pure functions: `parse_path` refuses a path it cannot read (ValueError saying why), `lookup`
returns the value there or `MISSING`.
"""

from __future__ import annotations

import re
from typing import Any, Final

Path = tuple[str | int, ...]

MISSING: Final = object()

_TOKEN = re.compile(
    r"""
    \.?(?P<key>[A-Za-z_@$][\w\-@$]*)         # .key (the dot is optional for the first one)
    | \[(?P<index>\d+)\]                       # [0]
    | \[(?P<quote>["'])(?P<quoted>(?:(?!(?P=quote)).)*)(?P=quote)\]   # ["a.b"] or ['a.b']
    """,
    re.VERBOSE,
)


def parse_path(text: str) -> Path:
    """`alerts[0].labels` -> `("alerts", 0, "labels")`; raises ValueError for what it cannot read."""
    source = text.strip()
    if source in ("$", ""):
        raise ValueError("a path needs at least one key, such as alert.title")
    if source.startswith("$."):
        source = source[2:]
    elif source.startswith("$["):
        source = source[1:]
    parts: list[str | int] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None or (match.group("key") is not None and position > 0 and source[position] != "."):
            raise ValueError(f"{text!r} is not a path: cannot read it from {source[position:]!r} on")
        if match.group("key") is not None:
            if position == 0 and source.startswith("."):
                raise ValueError(f"{text!r} is not a path: it starts with a dot")
            parts.append(match.group("key"))
        elif match.group("index") is not None:
            parts.append(int(match.group("index")))
        else:
            parts.append(match.group("quoted"))
        position = match.end()
    return tuple(parts)


def format_path(path: Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_@$][\w\-@$]*", part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


def lookup(document: Any, path: Path) -> Any:
    """The value at `path` in `document`, or `MISSING` when a step is not there."""
    current = document
    for part in path:
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current):
                return MISSING
            current = current[part]
        else:
            if not isinstance(current, dict) or part not in current:
                return MISSING
            current = current[part]
    return current
