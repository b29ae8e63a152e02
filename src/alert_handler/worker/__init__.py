"""Where processing runs: `embedded.py` inside the API process, Celery (`app.py`, `tasks.py`)
in worker processes. `celery -A alert_handler.worker worker` finds the app here; it is made
only when asked for, so the API process never builds it in embedded mode."""

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        from alert_handler.worker.app import celery_app

        return celery_app
    raise AttributeError(name)
