"""Structured logging with loguru: readable lines, or JSON lines with LOG_FORMAT=json.

Standard-library loggers (uvicorn, sqlalchemy, alembic) are routed through the same sink.
"""

from __future__ import annotations

import logging
import sys

from loguru import logger


class _InterceptHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, "{}", record.getMessage())


def configure(level: str = "INFO", fmt: str = "console", *, access_log: bool = False) -> None:
    logger.remove()
    if fmt == "json":
        logger.add(sys.stderr, level=level.upper(), serialize=True, backtrace=False, diagnose=False)
    else:
        logger.add(
            sys.stderr,
            level=level.upper(),
            backtrace=False,
            diagnose=False,  # diagnose prints variable values, which may hold secrets
            format="<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
            "<cyan>{name}</cyan> {message}",
        )
    # The root level must not be below the configured one: uvicorn wraps every request in a
    # message-logging middleware when it sees TRACE enabled.
    logging.basicConfig(handlers=[_InterceptHandler()], level=level.upper(), force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "alembic"):
        std = logging.getLogger(name)
        std.handlers = [_InterceptHandler()]
        std.propagate = False
    # Drivers that log statements with their parameters (alert content) even at DEBUG, and HTTP
    # clients that log every request's URL at INFO (a webhook's URL often is its token): quiet.
    for noisy in ("sqlalchemy.engine", "aiosqlite", "asyncio", "httpx", "httpcore", "urllib3", "requests"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # One line per request costs real throughput at thousands of alerts/s: off unless asked for.
    logging.getLogger("uvicorn.access").disabled = not access_log
