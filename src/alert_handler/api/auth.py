"""Who is calling: an API key from `Authorization: Bearer`, `X-API-Key` or basic auth (password)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler import db
from alert_handler.security.keys import Scope, granted, hash_key
from alert_handler.store import api_keys


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    scopes: tuple[str, ...]
    tenant: str

    @property
    def actor(self) -> str:
        return f"api-key:{self.name}"

    def can(self, scope: Scope) -> bool:
        return granted(list(self.scopes), scope)


def key_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":  # Prometheus and amtool send basic auth: the key is the password
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


class KeyCache:
    """Keys checked in the last few seconds, so ingest does not query the database per request.

    A revocation made through this process applies at once; one made elsewhere within `ttl`.
    """

    def __init__(self, engine: AsyncEngine, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._entries: dict[str, tuple[float, Principal | None]] = {}
        # One lookup per key at a time: when an entry expires under load, the requests that
        # arrive meanwhile wait for that lookup instead of each taking a connection.
        self._lookups: dict[str, asyncio.Future[Principal | None]] = {}

    async def principal(self, key: str) -> Principal | None:
        digest = hash_key(key)
        cached = self._entries.get(digest)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        pending = self._lookups.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        lookup = asyncio.ensure_future(self._lookup(key, digest))
        self._lookups[digest] = lookup
        return await asyncio.shield(lookup)

    async def _lookup(self, key: str, digest: str) -> Principal | None:
        try:
            async with db.read(self._engine) as conn:
                record = await api_keys.find_active(conn, key)
        finally:
            self._lookups.pop(digest, None)
        principal = Principal(record.name, tuple(record.scopes), record.tenant) if record else None
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[digest] = (time.monotonic() + self._ttl, principal)
        return principal

    def forget_all(self) -> None:
        self._entries.clear()
