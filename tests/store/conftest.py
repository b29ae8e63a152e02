"""Fixtures for the store tests: a brand-new, never-migrated database per backend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MYSQL_ADMIN_URL, POSTGRES_ADMIN_URL, _admin_execute, _with_database, service_missing

_ADMIN_URLS = {"postgresql": POSTGRES_ADMIN_URL, "mysql": MYSQL_ADMIN_URL}


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of the backend under test with no tables at all, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin_url = _ADMIN_URLS[backend]
    name = f"ah_empty_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin_execute(admin_url, [f"CREATE DATABASE {name}"]))
    except Exception as exc:
        service_missing(backend, f"{type(exc).__name__}: {exc}")
    try:
        yield _with_database(admin_url, name)
    finally:
        drop = f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if backend == "postgresql" else "")
        asyncio.run(_admin_execute(admin_url, [drop]))
