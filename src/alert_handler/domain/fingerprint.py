"""Alert identity: an explicit dedup key, or a stable hash of what names the alert."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def fingerprint(
    *,
    source: str,
    title: str,
    labels: Mapping[str, str],
    metadata: Mapping[str, Any],
    identity_keys: Iterable[str],
    dedup_key: str | None = None,
) -> str:
    """`dedup_key` when the sender gives one; else a hash of source, title, labels and identity metadata.

    Metadata keys outside `identity_keys` (values such as `cpu_usage`) change between repeats of
    the same alert, so they are not identity.
    """
    if dedup_key:
        return dedup_key
    identity = {k: metadata[k] for k in identity_keys if k in metadata}
    canonical = orjson.dumps((source, title, labels, identity), option=_SORTED)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager semantics for label-based sources: the sorted label set is the identity."""
    return hashlib.blake2b(orjson.dumps(labels, option=_SORTED), digest_size=16).hexdigest()
