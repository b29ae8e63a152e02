"""API keys: random, shown once, stored as a hash, carrying scopes.

Keys are 256-bit random tokens, so a fast hash (SHA-256) is enough: there is nothing to
brute-force, and ingest can check a key on every request without a slow KDF.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

KEY_PREFIX = "ah_"


class Scope(StrEnum):
    INGEST = "ingest"
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


# What each scope lets a key do besides its own name: admin does everything, write implies read.
_IMPLIED = {
    Scope.ADMIN: {Scope.INGEST, Scope.READ, Scope.WRITE, Scope.ADMIN},
    Scope.WRITE: {Scope.WRITE, Scope.READ},
    Scope.READ: {Scope.READ},
    Scope.INGEST: {Scope.INGEST},
}


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters, enough to tell keys apart in a list without revealing them."""
    return key[: len(KEY_PREFIX) + 6]


def granted(scopes: list[str], needed: Scope) -> bool:
    return any(needed in _IMPLIED.get(Scope(s), set()) for s in scopes if s in Scope._value2member_map_)
