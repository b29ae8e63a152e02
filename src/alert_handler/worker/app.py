"""The Celery application: `celery -A alert_handler.worker worker` and `... beat`.

The broker is BROKER_URL (Redis, or RabbitMQ). Tasks carry alert ids only; the database holds
the work (an alert's `pending_since`, a group's `next_flush_at`, a notification's
`next_attempt_at`), so a lost message costs latency, never work: the `tick` task, which beat
sends every SCHEDULER_TICK_SECONDS, does whatever is owed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from celery import Celery
from kombu import Queue

from alert_handler.settings import Settings, get_settings
from alert_handler.worker import redis_transport

PROCESS_TASK = "alert_handler.process_alerts"
TICK_TASK = "alert_handler.tick"


def make_celery(settings: Settings) -> Celery:
    broker = settings.broker_url or settings.redis_url or None
    app = Celery("alert_handler", broker=broker)
    if broker is not None and urlsplit(broker).scheme == "redis":
        app.conf.broker_transport = redis_transport.TRANSPORT  # one redis-py client per channel
    app.conf.update(
        task_ignore_result=True,
        task_default_queue=settings.broker_queue,
        # The schedule's tick has its own queue, which workers also consume: behind a long queue
        # of alerts to process, the tick (the sweeper, the retries) would otherwise wait its turn.
        task_queues=(Queue(settings.broker_queue), Queue(f"{settings.broker_queue}.schedule")),
        task_routes={TICK_TASK: {"queue": f"{settings.broker_queue}.schedule"}},
        # A message is acknowledged after its task ran, and handed to another worker when the
        # one running it dies; tasks are idempotent, so running one twice is harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=4,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2.0,
        broker_transport_options={"visibility_timeout": 300},
        task_serializer="json",
        accept_content=["json"],
        beat_schedule={
            "tick": {"task": TICK_TASK, "schedule": settings.scheduler_tick_seconds, "options": {"expires": 30}},
        },
        imports=("alert_handler.worker.tasks",),
        worker_hijack_root_logger=False,
    )
    return app


# The workers' and beat's app (`celery -A alert_handler.worker`), from their environment.
celery_app = make_celery(get_settings())
