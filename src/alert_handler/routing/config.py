"""The configuration file: `load_config(path)` reads YAML (duplicate keys refused), validates the
model (`models.py`) and the cross-references (`references.py`); every problem is reported as
`FILE: PATH: what is wrong`."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from alert_handler.errors import ConfigError
from alert_handler.routing.models import Config
from alert_handler.routing.references import BUILTIN_RECEIVER_TYPES, Loc, Problem, check_references
from alert_handler.routing.rules import InvalidRules, compile_rules, remember

__all__ = ["Config", "InvalidConfig", "Problem", "load_config", "parse_config", "read_yaml", "with_env_receivers"]


class InvalidConfig(ConfigError):
    """A configuration that cannot be used; `problems` holds each one with its path."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [
            f"{self.source}: {p.path}: {p.message}" if p.loc else f"{self.source}: {p.message}" for p in self.problems
        ]


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (the second would win silently)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    loader.flatten_mapping(node)
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _message(error: ErrorDetails) -> str:
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    if error["type"] == "extra_forbidden":
        return "unknown key (check the spelling)"
    if error["type"] == "missing":
        return "required"
    return error["msg"]


def _loc(error: ErrorDetails) -> Loc:
    # A `function-plain` / `function-after` step adds no location of its own; keep fields and indices.
    return tuple(p for p in error["loc"] if isinstance(p, int) or not p.startswith("function-"))


def parse_config(
    data: object, source: str = "<config>", receiver_types: Collection[str] = BUILTIN_RECEIVER_TYPES
) -> Config:
    """Validate already-parsed data (from the file or the API); raises InvalidConfig."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise InvalidConfig(
            source, [Problem((), f"expected a mapping of sections (receivers, route, ...), got {kind}")]
        )
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise InvalidConfig(source, [Problem(_loc(e), _message(e)) for e in exc.errors()]) from None
    problems = check_references(config, receiver_types)
    try:
        # CEL is compiled here, so a bad expression is refused at load and never met per alert.
        compiled = compile_rules(config.rules)
    except InvalidRules as exc:
        problems += exc.problems
    if problems:
        raise InvalidConfig(source, problems)
    remember(config, compiled)
    return config


def read_yaml(path: str | Path) -> object:
    """The YAML document at `path`, as plain data (duplicate keys refused); raises InvalidConfig
    naming the file when it cannot be read or is not YAML."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidConfig(source, [Problem((), f"cannot read the file: {exc}")]) from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "YAML"
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidConfig(source, [Problem((where,), f"not valid YAML: {problem}")]) from exc


def with_env_receivers(file_data: object, env: Sequence[Mapping[str, Any]], taken: Iterable[str] = ()) -> object:
    """The file's data with the receivers made from the environment (`channels/env.py`) added
    after its own, except those whose name the file (or `taken`: API objects) already uses."""
    section = file_data.get("receivers") if isinstance(file_data, dict) else None
    if not env or not isinstance(file_data, dict) or not isinstance(section, list | None):
        return file_data
    names = {r.get("name") for r in section or [] if isinstance(r, dict)} | set(taken)
    added = [dict(r) for r in env if r["name"] not in names]
    return {**file_data, "receivers": [*(section or []), *added]} if added else file_data


def load_config(
    path: str | Path,
    receiver_types: Collection[str] = BUILTIN_RECEIVER_TYPES,
    env_receivers: Sequence[Mapping[str, Any]] = (),
) -> Config:
    """Read and validate the YAML file at `path` (with the receivers made from the environment);
    raises InvalidConfig naming the file."""
    return parse_config(with_env_receivers(read_yaml(path), env_receivers), str(path), receiver_types)
