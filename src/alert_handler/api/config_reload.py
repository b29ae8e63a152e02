"""The running configuration in the app's life: loaded at start (an invalid one stops the start),
reloaded on SIGHUP, and kept in step with objects other processes store."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from loguru import logger
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from alert_handler.channels.env import env_receivers
from alert_handler.errors import ConfigError
from alert_handler.routing.live import InvalidConfig, LiveConfig, Loaded, resolve_config_file
from alert_handler.settings import Settings


def _refuse(exc: InvalidConfig) -> ConfigError:
    lines = exc.lines()
    for line in lines:
        logger.error("{}", line)
    count = len(lines)
    return ConfigError(
        f"the configuration is invalid ({count} problem{'' if count == 1 else 's'}); not starting:\n" + "\n".join(lines)
    )


async def start(settings: Settings, engine: AsyncEngine, clock: Callable[[], datetime]) -> LiveConfig:
    """The validated configuration of the file and the stored objects, or ConfigError naming
    every problem. While the database does not answer, the file alone is used."""
    live = LiveConfig(resolve_config_file(settings.config_file), clock=clock, env_receivers=env_receivers(settings))
    try:
        loaded = await live.reload(engine)
    except InvalidConfig as exc:
        raise _refuse(exc) from None
    except (SQLAlchemyError, OSError) as exc:
        logger.warning(
            "cannot read the configuration objects ({}); starting with {} alone until the database answers",
            type(exc).__name__,
            live.path,
        )
        try:
            loaded = live.load_file()
        except InvalidConfig as invalid:
            raise _refuse(invalid) from None
    logger.info("configuration {} loaded: revision {}", live.path, loaded.revision)
    return live


async def reload_logged(live: LiveConfig, engine: AsyncEngine, why: str) -> Loaded:
    """`live.reload`, with its outcome in the log (never the configuration's values)."""
    try:
        loaded = await live.reload(engine)
    except InvalidConfig as exc:
        logger.error("configuration reload ({}) failed; the running configuration stays:", why)
        for line in exc.lines():
            logger.error("  {}", line)
        raise
    logger.info("configuration reloaded ({}): revision {}", why, loaded.revision)
    return loaded


@asynccontextmanager
async def kept_current(live: LiveConfig, engine: AsyncEngine, interval: float) -> AsyncIterator[None]:
    """While inside: follow other processes' changes, and reload on SIGHUP when this runs in
    the main thread (as `alert-handler serve` does)."""
    follower = asyncio.create_task(live.follow(engine, interval), name="config-follow")
    pending: set[asyncio.Task[None]] = set()

    async def on_signal() -> None:
        with contextlib.suppress(InvalidConfig, SQLAlchemyError, OSError):
            await reload_logged(live, engine, "SIGHUP")

    def hangup() -> None:
        task = asyncio.create_task(on_signal())
        pending.add(task)
        task.add_done_callback(pending.discard)

    loop = asyncio.get_running_loop()
    installed = False
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, hangup)
            installed = True
    try:
        yield
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGHUP)
        follower.cancel()
        for task in (follower, *pending):
            with contextlib.suppress(asyncio.CancelledError):
                await task
