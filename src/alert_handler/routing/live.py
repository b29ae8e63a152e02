"""The running configuration: the file (CONFIG_FILE) and the objects made through the API,
merged (`merge.py`), validated as one, and swapped in whole.

- `reload` re-reads the file and every stored object (at start, on SIGHUP, on POST /-/reload).
- `refresh_if_changed` re-reads only the stored objects, and only when one query says they
  changed: every process calls it every couple of seconds, so an object made through one process
  reaches all of them. The file is not re-read there.
- A configuration that does not validate raises InvalidConfig and the running one stays.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loguru import logger
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import alert_handler
from alert_handler import db
from alert_handler.errors import ConfigError
from alert_handler.routing.config import InvalidConfig, parse_config, read_yaml, with_env_receivers
from alert_handler.routing.merge import KINDS, LIST_KINDS, InvalidMerge, ObjectSpec, Placed, merge, unnamed
from alert_handler.routing.models import Config
from alert_handler.routing.references import BUILTIN_RECEIVER_TYPES
from alert_handler.routing.tree import Route
from alert_handler.settings import DEFAULT_CONFIG_FILE
from alert_handler.store import config_objects
from alert_handler.store.config_objects import Marker

__all__ = [
    "KINDS",
    "Entry",
    "InvalidConfig",
    "InvalidMerge",
    "LiveConfig",
    "Loaded",
    "ObjectSpec",
    "resolve_config_file",
]

Source = AsyncEngine | AsyncConnection


def resolve_config_file(configured: str, default: str = DEFAULT_CONFIG_FILE) -> Path:
    """The file to read. The default (the example that ships with the project) is looked for in
    the working directory, then inside the installed package; when it is in neither, say so
    plainly rather than start without routes."""
    path = Path(configured)
    if configured != default or path.is_file():
        return path
    shipped = Path(alert_handler.__file__).with_name("defaults") / "alert-handler.example.yaml"
    if shipped.is_file():
        return shipped
    raise ConfigError(
        f"no configuration file: CONFIG_FILE is not set and the default {default} is not in {Path.cwd()}; "
        "set CONFIG_FILE to your file (start from config/alert-handler.example.yaml in the project)"
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """One object of a kind as the effective configuration has it."""

    name: str
    provisioned: bool  # from the file: read-only through the API
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Loaded:
    """One validated snapshot; never changed, only replaced."""

    config: Config
    tree: Route
    revision: str  # a digest of the effective configuration
    provisioned: dict[str, frozenset[str]]  # per kind, the names that come from the file
    loaded_at: datetime
    entries: dict[str, tuple[Entry, ...]]  # per kind, in effective order
    file_data: Mapping[str, Any]  # the file as last read, merged again with each API change

    def entry(self, kind: str, name: str) -> Entry | None:
        return next((e for e in self.entries.get(kind, ()) if e.name == name), None)


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _revision(config: Config) -> str:
    canonical = json.dumps(config.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _entries(config: Config, file_data: Mapping[str, Any], placed: Iterable[Placed]) -> dict[str, tuple[Entry, ...]]:
    api_names = {p.loc: p.name for p in placed}
    found: dict[str, tuple[Entry, ...]] = {}
    for kind in LIST_KINDS:
        items: list[BaseModel] = list(getattr(config, kind))
        in_file = len(file_data.get(kind) or [])
        found[kind] = tuple(
            Entry(api_names.get((kind, i)) or getattr(item, "name", None) or unnamed(kind, i), i < in_file, _dump(item))
            for i, item in enumerate(items)
        )
    route = file_data.get("route")
    in_file = len((route.get("routes") if isinstance(route, dict) else None) or [])
    found["routes"] = tuple(
        Entry(api_names.get(("route", "routes", i)) or unnamed("routes", i), i < in_file, _dump(child))
        for i, child in enumerate(config.route.routes)
    )
    return found


class LiveConfig:
    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        receiver_types: Collection[str] = BUILTIN_RECEIVER_TYPES,
        env_receivers: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.path = Path(path)
        # Receivers made from the environment (SMTP_*, ...): after the file's, read-only like
        # them, and left out when the file or an API object uses the name.
        self._env_receivers = tuple(env_receivers)
        self._clock = clock
        self._receiver_types = receiver_types
        self._current: Loaded | None = None
        self._marker: Marker | None = None  # of the stored objects in the current snapshot
        self._failed_marker: Marker | None = None
        self._lock = asyncio.Lock()
        # For the metrics, as Alertmanager has them.
        self.last_reload_successful = False
        self.last_success_timestamp = 0.0

    @property
    def current(self) -> Loaded:
        if self._current is None:
            raise ConfigError("the configuration is not loaded yet")
        return self._current

    @property
    def loaded(self) -> bool:
        return self._current is not None

    def build(self, file_data: object, objects: Iterable[ObjectSpec]) -> Loaded:
        """Validate the file's data with these objects and make a snapshot, without swapping it
        in; raises InvalidConfig (InvalidMerge once the file is a mapping)."""
        source = str(self.path)
        if not isinstance(file_data, dict):
            parse_config(file_data, source, self._receiver_types)  # raises, naming what the file is
            raise AssertionError("unreachable")
        objects = list(objects)
        api_receivers = [o.name for o in objects if o.kind == "receivers"]
        raw_file_data, file_data = file_data, with_env_receivers(file_data, self._env_receivers, api_receivers)
        assert isinstance(file_data, dict)
        merged = merge(file_data, objects)
        problems = list(merged.problems)
        try:
            config = parse_config(merged.data, source, self._receiver_types)
        except InvalidConfig as exc:
            problems += exc.problems
        if problems:
            raise InvalidMerge(source, problems, merged.placed)
        entries = _entries(config, file_data, merged.placed)
        return Loaded(
            config=config,
            tree=Route.build(config.route),
            revision=_revision(config),
            provisioned={k: frozenset(e.name for e in entries[k] if e.provisioned) for k in KINDS},
            loaded_at=self._clock(),
            entries=entries,
            file_data=raw_file_data,
        )

    def candidate(self, objects: Iterable[ObjectSpec]) -> Loaded:
        """The snapshot these stored objects would make with the file as last read."""
        return self.build(self.current.file_data, objects)

    def load_file(self) -> Loaded:
        """The file alone, for a start while the database does not answer; the stored objects
        join at the first `refresh_if_changed` that reaches it."""
        loaded = self.build(read_yaml(self.path), [])
        self._swap(loaded, None)
        return loaded

    async def reload(self, source: Source) -> Loaded:
        """Re-read the file and every stored object; on failure the running snapshot stays."""
        async with self._lock:
            try:
                file_data = read_yaml(self.path)
                async with _reading(source) as conn:
                    marker = await config_objects.marker(conn)
                    objects = await config_objects.list_all(conn)
                loaded = self.build(file_data, [ObjectSpec(o.kind, o.name, o.body) for o in objects])
            except InvalidConfig:
                self.last_reload_successful = False
                raise
            self._swap(loaded, marker)
            return loaded

    async def refresh_if_changed(self, source: Source) -> Loaded | None:
        """Reload the stored objects when one cheap query says they changed; the new snapshot,
        or None when nothing changed (or the change was already found invalid)."""
        if self._current is None:
            return await self.reload(source)
        async with _reading(source) as conn:
            marker = await config_objects.marker(conn)
        if marker in (self._marker, self._failed_marker):
            return None
        async with self._lock:
            async with _reading(source) as conn:
                marker = await config_objects.marker(conn)
                objects = await config_objects.list_all(conn)
            try:
                loaded = self.build(self.current.file_data, [ObjectSpec(o.kind, o.name, o.body) for o in objects])
            except InvalidConfig:
                self._failed_marker = marker
                self.last_reload_successful = False
                raise
            self._swap(loaded, marker)
            return loaded

    async def follow(self, engine: AsyncEngine, interval: float) -> None:
        """Call `refresh_if_changed` every `interval` seconds until cancelled, logging changes."""
        unreachable = False
        while True:
            await asyncio.sleep(interval)
            try:
                loaded = await self.refresh_if_changed(engine)
            except InvalidConfig as exc:
                logger.error("configuration objects changed but do not validate; keeping the running one:")
                for line in exc.lines():
                    logger.error("  {}", line)
                continue
            except (SQLAlchemyError, OSError) as exc:
                if not unreachable:
                    logger.warning("cannot read the configuration objects ({}); will retry", type(exc).__name__)
                unreachable = True
                continue
            unreachable = False
            if loaded is not None:
                logger.info("configuration objects changed: now at revision {}", loaded.revision)

    def _swap(self, loaded: Loaded, marker: Marker | None) -> None:
        self._current = loaded
        self._marker = marker
        self._failed_marker = None
        self.last_reload_successful = True
        self.last_success_timestamp = time.time()


@asynccontextmanager
async def _reading(source: Source) -> AsyncIterator[AsyncConnection]:
    if isinstance(source, AsyncConnection):
        yield source
    else:
        async with db.read(source) as conn:
            yield conn
