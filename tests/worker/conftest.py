"""Celery on real Redis: private redis-server instances (so a test can stop one), worker and beat
subprocesses on the PostgreSQL of this machine, and a webhook sink that records every delivery."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.conftest import free_port, service_missing


@dataclass
class RedisServer:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        service_missing("redis-server", "the binary is not installed")
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@dataclass
class Celery:
    """Worker and beat subprocesses sharing one environment."""

    env: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "alert_handler.worker", *args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.processes[name] = process
        return process

    def worker(self, name: str, concurrency: int = 1) -> subprocess.Popen[bytes]:
        return self._spawn(
            name, "worker", "--pool", "prefork", "--concurrency", str(concurrency), "-n", f"{name}@%h",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        )  # fmt: skip

    def beat(self) -> subprocess.Popen[bytes]:
        return self._spawn("beat", "beat", "--loglevel", "INFO", "--schedule", str(self.logs / "beat-schedule"))

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every worker says it is ready (consuming) and beat has started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = [n for n in self.processes if n != "beat"]
            if all(" ready." in self.log(n) for n in workers) and "beat: Starting" in self.log("beat"):
                return
            time.sleep(0.1)
        raise AssertionError("Celery did not start in time:\n" + "\n".join(self.log(n)[-2000:] for n in self.processes))

    def kill(self, name: str) -> None:
        """SIGKILL the whole process group: the main worker process and its pool children."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)


def celery_env(
    database_url: str, broker_url: str, config_file: Path, *, queue: str = "alert-handler", tick: float = 0.5
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "BROKER_", "WORKER_"))}
    env.update(
        DATABASE_URL=database_url, BROKER_URL=broker_url, CONFIG_FILE=str(config_file),
        BROKER_QUEUE=queue, SCHEDULER_TICK_SECONDS=str(tick), NOTIFY_LEASE_SECONDS="3", LOG_LEVEL="INFO",
    )  # fmt: skip
    return env
