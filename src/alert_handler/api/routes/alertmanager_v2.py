"""Alertmanager's API v2 at `/api/v2`, so Prometheus sends its alerts here and amtool works.

The contract is Alertmanager's `api/v2/openapi.yaml`: the same paths, JSON shapes and status
codes; errors are a JSON string. Keys travel as Prometheus and amtool send them: basic auth
(the key as the password) or a bearer token. The alerts are this service's alerts, the silences
those of `/api/v1/silences`. Where they differ from Alertmanager:

- a request with one invalid alert stores none of them (Alertmanager stores the valid ones);
- `status.state` of an alert that a rule suppresses is `suppressed` with no silence or
  inhibition named; acknowledged alerts stay `active`;
- bad query parameters and bodies are a 400 naming the field.
"""

from __future__ import annotations

from fastapi import APIRouter

from alert_handler.api.alertmanager import alerts, silences, status

PREFIX = "/api/v2"

router = APIRouter(prefix=PREFIX, tags=["alertmanager v2"])
router.include_router(alerts.router)
router.include_router(silences.router)
router.include_router(status.router)
