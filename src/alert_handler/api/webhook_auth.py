"""Who may post to a webhook: the integration's own token or an HMAC signature of the body, or
a regular API key with the ingest scope (handy for testing).

The token is read from `?token=`, `Authorization: Bearer`, `X-API-Key`, the password of basic
auth and, for PagerDuty integrations, the body's `routing_key`. The signature is the hex
HMAC-SHA256 of the raw body under `hmac_secret`, in the header `hmac_header`, after the
optional `hmac_prefix` (such as `sha256=`). Every comparison takes constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import HTTPException

from alert_handler.api.auth import key_from_headers
from alert_handler.api.runtime import Runtime
from alert_handler.ingest.sources import pagerduty
from alert_handler.routing.integrations import Integration
from alert_handler.security.keys import Scope

_UNAUTHENTICATED = {"WWW-Authenticate": 'Bearer realm="alert-handler"'}


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: str
    actor: str  # integration:<name>, or api-key:<name>


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _signed(integration: Integration, headers: Mapping[str, str], body: bytes) -> bool | None:
    """True or False when a signature was sent (and can be checked); None when none was."""
    secret = integration.auth.hmac_secret
    sent = headers.get(integration.auth.hmac_header.lower())
    if secret is None or sent is None:
        return None
    sent = sent.strip()
    prefix = integration.auth.hmac_prefix
    if prefix and sent[: len(prefix)].lower() == prefix.lower():
        sent = sent[len(prefix) :]
    return _same(sent.lower(), signature(secret.get_secret_value(), body))


async def authenticate_webhook(
    rt: Runtime, integration: Integration, headers: Mapping[str, str], query_token: str | None, body: bytes
) -> Caller:
    """The caller, or 401 (no or wrong credentials) / 403 (an API key without the ingest scope).
    `headers` has lower-case names."""
    tenant = integration.tenant or rt.settings.default_tenant
    as_integration = Caller(tenant, f"integration:{integration.name}")
    if not rt.settings.auth_enabled:
        return as_integration
    from_headers = key_from_headers(headers.get("authorization"), headers.get("x-api-key"))
    candidates = [c for c in (query_token, from_headers) if c]
    if integration.type == "pagerduty":
        routing_key = pagerduty.routing_key(body)
        if routing_key:
            candidates.append(routing_key)
    token = integration.auth.token
    if token is not None and any(_same(c, token.get_secret_value()) for c in candidates):
        return as_integration
    signed = _signed(integration, headers, body)
    if signed:
        return as_integration
    if from_headers:
        principal = await rt.keys.principal(from_headers)
        if principal is not None:
            if not principal.can(Scope.INGEST):
                raise HTTPException(403, f"this API key lacks the '{Scope.INGEST.value}' scope")
            return Caller(principal.tenant, principal.actor)
    if signed is False:
        raise HTTPException(401, f"invalid signature in {integration.auth.hmac_header}", headers=_UNAUTHENTICATED)
    if candidates:
        raise HTTPException(401, "invalid token or API key", headers=_UNAUTHENTICATED)
    ways = ["the integration's token (?token=, Authorization: Bearer)"] if token is not None else []
    if integration.auth.hmac_secret is not None:
        ways.append(f"an HMAC-SHA256 signature of the body in {integration.auth.hmac_header}")
    ways.append("an API key with the ingest scope")
    raise HTTPException(401, "missing credentials: send " + ", or ".join(ways), headers=_UNAUTHENTICATED)
