"""The JSON answers for errors, shared by the app's exception handlers and the fast ingest door."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from loguru import logger
from sqlalchemy.exc import SQLAlchemyError

from alert_handler.errors import InvalidInput, StorageUnavailable
from alert_handler.metrics import Metrics

Answer = tuple[int, dict[str, Any], dict[str, str]]


def error_answer(exc: Exception, metrics: Metrics | None, where: str) -> Answer | None:
    """(status, body, headers) for the errors the API answers itself; None for anything else."""
    if isinstance(exc, HTTPException):
        return exc.status_code, {"detail": exc.detail}, dict(exc.headers or {})
    if isinstance(exc, InvalidInput):
        return 422, {"detail": exc.errors, "message": str(exc)}, {}
    if isinstance(exc, StorageUnavailable):
        return 503, {"detail": str(exc)}, {"Retry-After": "5"}
    # A driver that cannot connect raises its own OSError, not a DBAPIError.
    if isinstance(exc, SQLAlchemyError | OSError):
        if metrics is not None:
            metrics.database_errors.labels("api").inc()
        logger.error("database error on {}: {}", where, type(exc).__name__)
        return 503, {"detail": "the database is unavailable; retry later"}, {"Retry-After": "5"}
    return None
