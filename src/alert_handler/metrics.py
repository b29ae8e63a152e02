"""Prometheus metrics, on a registry per app so tests and several apps never collide."""

from __future__ import annotations

from typing import Protocol

from loguru import logger
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_MAX_SOURCES = 200  # alert sources are sender-chosen: cap the label's cardinality


class ReloadState(Protocol):
    """What the configuration reload metrics read (`routing.live.LiveConfig` has it)."""

    last_reload_successful: bool
    last_success_timestamp: float


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.alerts_received = Counter(
            "alert_handler_alerts_received",
            "Alerts received, by source, severity and what storing them did (created, duplicate, reopened, resolved).",
            ["source", "severity", "outcome"],
            registry=self.registry,
        )
        self.ingest_latency = Histogram(
            "alert_handler_ingest_request_seconds",
            "Time from reading an ingest request to answering it (includes the commit).",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.commit_size = Histogram(
            "alert_handler_ingest_commit_alerts",
            "Alerts written per ingest transaction (concurrent requests share one commit).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048),
            registry=self.registry,
        )
        self.open_alerts = Gauge(
            "alert_handler_open_alerts",
            "Alerts not yet resolved, by severity.",
            ["severity"],
            registry=self.registry,
        )
        self.silences = Gauge(
            "alert_handler_silences",
            "Silences of every tenant, by state (pending, active, expired).",
            ["state"],
            registry=self.registry,
        )
        self.database_errors = Counter(
            "alert_handler_database_errors",
            "Database operations that failed.",
            ["operation"],
            registry=self.registry,
        )
        self.notifications = Gauge(
            "alert_handler_notifications",
            "Notifications in the outbox by status (pending, sending, sent, dead), across every worker.",
            ["status"],
            registry=self.registry,
        )
        self.processing_backlog = Gauge(
            "alert_handler_processing_backlog_alerts",
            "Alerts stored whose processing is still owed (every worker counts here).",
            registry=self.registry,
        )
        self.processing_oldest = Gauge(
            "alert_handler_processing_oldest_seconds",
            "Age of the oldest alert whose processing is still owed (0 when none).",
            registry=self.registry,
        )
        self.sends = Counter(
            "alert_handler_notification_sends",
            "Messages handed to a channel, by channel type, receiver and outcome (sent, failed);"
            " a failed one may be retried. Counted by the process that sent them.",
            ["channel", "receiver", "outcome"],
            registry=self.registry,
        )
        self.send_latency = Histogram(
            "alert_handler_notification_send_seconds",
            "Time a channel took to deliver (or fail to deliver) one message, by channel type.",
            ["channel"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self._sources: set[str] = set()

    def observe_send(self, channel: str, receiver: str, outcome: str, seconds: float) -> None:
        self.sends.labels(channel, receiver, outcome).inc()
        self.send_latency.labels(channel).observe(seconds)

    def watch_config(self, state: ReloadState) -> None:
        """Alertmanager's reload gauges, read from `state` at each scrape."""
        Gauge(
            "alert_handler_config_last_reload_successful",
            "Whether the last configuration reload (file or API objects) succeeded.",
            registry=self.registry,
        ).set_function(lambda: 1.0 if state.last_reload_successful else 0.0)
        Gauge(
            "alert_handler_config_last_reload_success_timestamp_seconds",
            "When the configuration was last loaded successfully (Unix seconds).",
            registry=self.registry,
        ).set_function(lambda: state.last_success_timestamp)

    def source_label(self, source: str) -> str:
        if source in self._sources:
            return source
        if len(self._sources) < _MAX_SOURCES:
            self._sources.add(source)
            return source
        return "other"


def start_metrics_server(metrics: Metrics, port: int) -> None:
    """Serve `metrics` on 0.0.0.0:`port` from a thread (a Celery worker has no web server).
    A port already taken (a second worker process of the same host) is logged and skipped."""
    try:
        start_http_server(port, registry=metrics.registry)
    except OSError as exc:
        logger.warning("worker metrics not served on port {}: {}", port, exc.strerror)
    else:
        logger.info("worker metrics on http://0.0.0.0:{}/metrics", port)
