"""One settings class, read from the environment and `.env` (names as in `.env.example`)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_CONFIG_FILE = "config/alert-handler.example.yaml"
DEFAULT_IDENTITY_KEYS = ("host", "server", "instance", "service", "resource")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- service
    environment: Literal["local", "staging", "production"] = "local"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_url: str = ""
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"
    access_log: bool = False
    auth_enabled: bool = True
    config_file: str = DEFAULT_CONFIG_FILE
    # How often each process looks for configuration objects changed through another process.
    config_refresh_seconds: float = Field(2.0, gt=0, le=300)

    # --- storage
    database_url: str = "sqlite:///./alert_handler.db"
    database_pool_size: int = Field(10, ge=1)
    database_echo: bool = False
    redis_url: str = ""

    # --- ingest
    default_tenant: str = "default"
    ingest_fast_path: bool = True
    ingest_max_batch: int = Field(1000, ge=1, le=100_000)
    ingest_max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    ingest_commit_max_alerts: int = Field(512, ge=1)
    ingest_commit_linger_ms: float = Field(1.0, ge=0, le=1000)
    ingest_writers: int = Field(0, ge=0, le=16)
    # NoDecode: read as "host,server" (or a JSON list), not only as JSON
    fingerprint_metadata_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_IDENTITY_KEYS)
    )
    api_key_cache_seconds: float = Field(5.0, ge=0)
    # Alertmanager's resolve_timeout: an alert posted to /api/v2/alerts without endsAt ends this
    # long after it was received, unless it is sent again before then.
    resolve_timeout_seconds: float = Field(300.0, gt=0, le=366 * 86400)

    # --- processing: "embedded" runs it in the API process; "celery" hands it to Celery workers
    # on BROKER_URL; "auto" picks celery when BROKER_URL is set; "off" stores alerts only.
    worker_mode: Literal["auto", "embedded", "celery", "off"] = "auto"
    broker_url: str = ""
    # The Celery queue: one per installation sharing a broker.
    broker_queue: str = Field("alert-handler", min_length=1, max_length=200)
    scheduler_tick_seconds: float = Field(1.0, gt=0, le=60)
    processing_batch: int = Field(500, ge=1, le=10_000)
    notify_deadline_seconds: float = Field(3600.0, gt=0)
    notify_lease_seconds: float = Field(60.0, gt=0)
    notification_retention_hours: float = Field(120.0, gt=0)
    # A Celery worker serves its send metrics on this port (0: not served).
    worker_metrics_port: int = Field(0, ge=0, le=65535)

    # --- notification templates: a directory of your own, looked in before the shipped
    # defaults (same layout: <language>/<channel>/<file>), and the default language.
    templates_dir: str = ""
    template_language: Literal["en", "zh"] = "en"

    # --- notification channels (used by the receivers built from these settings)
    # SMTP_SERVER (with SMTP_TO) makes a receiver named `email` without any YAML.
    smtp_server: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_from: str = ""
    # Recipients of the `email` receiver made from these settings: "a@x.org,b@x.org".
    smtp_to: Annotated[list[str], NoDecode] = Field(default_factory=list)
    slack_webhook_url: SecretStr = SecretStr("")
    slack_bot_token: SecretStr = SecretStr("")
    slack_channel: str = ""
    dingtalk_webhook_url: SecretStr = SecretStr("")
    dingtalk_secret: SecretStr = SecretStr("")

    @field_validator("fingerprint_metadata_keys", "smtp_to", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            stripped = value.strip()
            if stripped.startswith("["):
                return json.loads(stripped)
            return [part.strip() for part in stripped.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _production_needs_auth(self) -> Settings:
        if self.environment == "production" and not self.auth_enabled:
            raise ValueError("AUTH_ENABLED=false is refused with ENVIRONMENT=production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def effective_worker_mode(self) -> str:
        if self.worker_mode == "auto":
            return "celery" if self.broker_url else "embedded"
        return self.worker_mode

    @property
    def effective_writers(self) -> int:
        """Concurrent ingest transactions of one process.

        One by default: concurrent batches that share new alerts deadlock on each other's
        uncommitted inserts (retried, but a second lost each time), while one writer already
        groups every request that arrives during a commit. SQLite has a single writer anyway.
        """
        if self.is_sqlite:
            return 1
        return self.ingest_writers or 1


@lru_cache
def get_settings() -> Settings:
    return Settings()
