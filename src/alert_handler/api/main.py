"""Entry point for ASGI servers: `uvicorn --factory alert_handler.api.main:app_factory`."""

from __future__ import annotations

from fastapi import FastAPI

from alert_handler.api.app import create_app
from alert_handler.logs import configure
from alert_handler.settings import get_settings


def app_factory() -> FastAPI:
    settings = get_settings()
    configure(settings.log_level, settings.log_format, access_log=settings.access_log)
    return create_app(settings)
