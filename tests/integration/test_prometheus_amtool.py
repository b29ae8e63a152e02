"""The real Prometheus and amtool (Debian's `prometheus` and `prometheus-alertmanager`) against a
real `alert-handler serve`: Prometheus delivers its alerts to /api/v2 with a bearer key, and
amtool queries alerts, adds, lists and expires a silence and shows the configuration with the
key as its basic-auth password. Everything listens on loopback ports; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.conftest import free_port, service_missing

ALERT_HANDLER = Path(sys.executable).with_name("alert-handler")
CONFIG = """
receivers:
  - {name: team-log, type: log}
route:
  receiver: team-log
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
"""
RULES = """
groups:
  - name: always
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: critical}
        annotations: {summary: fires on every evaluation}
"""
T = TypeVar("T")


def _until(what: str, check: Callable[[], T | None], logs: list[Path], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs if p.exists())
            raise AssertionError(f"{what}: not within {timeout:.0f} s\n{tails}")
        time.sleep(0.2)


class Processes:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.running: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.directory / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=self.directory)
        self.running.append(process)
        self.logs.append(log)
        return process

    def stop(self) -> None:
        for process in reversed(self.running):
            process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@pytest.fixture
def binaries() -> dict[str, str]:
    found = {name: shutil.which(name) for name in ("prometheus", "amtool")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        service_missing(
            ", ".join(missing), "not installed: apt-get install prometheus prometheus-alertmanager (.ci/run does)"
        )
    return {name: str(path) for name, path in found.items()}


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    made = Processes(tmp_path)
    try:
        yield made
    finally:
        made.stop()


def _serve(processes: Processes, tmp_path: Path) -> tuple[str, str, dict[str, str]]:
    """alert-handler on a free port (SQLite, embedded worker); its URL, a key, and its environment."""
    config = tmp_path / "alert-handler.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "CONFIG_FILE": str(config),
        "WORKER_MODE": "embedded",
        "SCHEDULER_TICK_SECONDS": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("BROKER_URL", None)
    process = processes.start("serve", [str(ALERT_HANDLER), "serve", "--host", "127.0.0.1", "--port", str(port)], env)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, "alert-handler serve exited"
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    _until("alert-handler answers /health", healthy, processes.logs)
    made = subprocess.run(
        [str(ALERT_HANDLER), "create-api-key", "--name", "prometheus", "--scope", "ingest", "--scope", "write"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("ah_"), made.stdout
    return url, key, env


def _prometheus(processes: Processes, tmp_path: Path, binary: str, target: str, key: str) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES, encoding="utf-8")
    config = tmp_path / "prometheus.yml"
    alerting = {
        "alertmanagers": [
            {
                "api_version": "v2",
                "authorization": {"type": "Bearer", "credentials": key},
                "static_configs": [{"targets": [target]}],
            }
        ]
    }
    document = {"global": {"evaluation_interval": "1s"}, "rule_files": [str(rules)], "alerting": alerting}
    config.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML
    command = [
        binary,
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{free_port()}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        # Alerts go out at once and then every second, not after Prometheus's default minute.
        "--rules.alert.resend-delay=1s",
    ]
    processes.start("prometheus", command, dict(os.environ))


def test_prometheus_delivers_and_amtool_works(binaries: dict[str, str], processes: Processes, tmp_path: Path) -> None:
    url, key, _ = _serve(processes, tmp_path)
    _prometheus(processes, tmp_path, binaries["prometheus"], url.removeprefix("http://"), key)
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=5)

    def firing() -> dict[str, Any] | None:
        alerts = api.get("/api/v2/alerts", params={"filter": 'alertname="AlwaysFiring"'}).json()
        return alerts[0] if alerts and alerts[0]["status"]["state"] == "active" else None

    first = _until("Prometheus's alert arrives and is processed", firing, processes.logs)
    assert first["labels"] == {"alertname": "AlwaysFiring", "severity": "critical"}
    assert first["receivers"] == [{"name": "team-log"}]
    assert first["generatorURL"].startswith("http")
    # Prometheus sends it again every second: the same alert, its end pushed later, told once.
    later = _until(
        "a repeat extends the alert",
        lambda: (found := firing()) and found["endsAt"] > first["endsAt"] and found,
        processes.logs,
    )
    assert later["fingerprint"] == first["fingerprint"] and later["startsAt"] == first["startsAt"]
    listed = api.get("/api/v1/alerts", params={"source": "alertmanager"}).json()["items"]
    assert len(listed) == 1 and listed[0]["duplicate_count"] >= 1
    notified = api.get("/api/v1/notifications").json()["items"]
    assert [n["receiver"] for n in notified] == ["team-log"]

    amtool_url = f"--alertmanager.url=http://amtool:{key}@{url.removeprefix('http://')}"

    def amtool(*args: str) -> str:
        done = subprocess.run(
            [binaries["amtool"], amtool_url, *args], capture_output=True, text=True, timeout=20, check=False
        )
        assert done.returncode == 0, f"amtool {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    assert "AlwaysFiring" in amtool("alert", "query")
    as_json = json.loads(amtool("-o", "json", "alert", "query", "alertname=AlwaysFiring"))
    assert [a["fingerprint"] for a in as_json] == [first["fingerprint"]]

    silence_id = amtool("silence", "add", "alertname=AlwaysFiring", "-c", "checking amtool", "-a", "ci", "-d", "1h")
    silence_id = silence_id.strip()
    assert api.get(f"/api/v1/silences/{silence_id}").json()["state"] == "active"
    queried = amtool("silence", "query")
    assert silence_id in queried and "checking amtool" in queried and 'alertname="AlwaysFiring"' in queried
    _until("amtool sees the alert silenced", lambda: "AlwaysFiring" not in amtool("alert", "query"), processes.logs)
    assert "suppressed" in amtool("alert", "query", "--silenced")
    assert api.get("/api/v2/alerts").json()[0]["status"]["silencedBy"] == [silence_id]

    amtool("silence", "expire", silence_id)
    assert silence_id not in amtool("silence", "query")
    assert silence_id in amtool("silence", "query", "--expired")
    assert api.get(f"/api/v2/silence/{silence_id}").json()["status"]["state"] == "expired"

    # amtool's HTTP configuration file with a bearer token, instead of the key in the URL.
    http_config = tmp_path / "amtool-http.yml"
    http_config.write_text(json.dumps({"authorization": {"credentials": key}}), encoding="utf-8")
    done = subprocess.run(
        [binaries["amtool"], f"--alertmanager.url={url}", f"--http.config.file={http_config}", "silence", "query",
         "--expired", "-q"],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout.split()) == (0, [silence_id]), done.stderr

    shown = amtool("config", "show")
    assert "team-log" in shown and "group_by" in shown
