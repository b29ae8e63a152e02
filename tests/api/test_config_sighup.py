"""A real `alert-handler serve` reloads its configuration file on SIGHUP, and refuses to start
on an invalid one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import free_port

ALERT_HANDLER = Path(sys.executable).with_name("alert-handler")
FILE = {"receivers": [{"name": "default-log", "type": "log"}], "route": {"receiver": "default-log"}}

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")


def _environment(tmp_path: Path, config: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "AUTH_ENABLED": "false",
        "CONFIG_FILE": str(config),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "alert-handler.yaml"
    path.write_text(yaml.safe_dump(FILE), encoding="utf-8")
    return path


@pytest.fixture
def served(tmp_path: Path, config: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = free_port()
    log = tmp_path / "serve.log"
    command = [str(ALERT_HANDLER), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=_environment(tmp_path, config), stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"serve exited:\n{log.read_text(errors='replace')}"
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve did not answer:\n{log.read_text(errors='replace')}"
            time.sleep(0.1)
        yield process, url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _receivers(url: str) -> list[str]:
    answer = httpx.get(f"{url}/api/v1/config/receivers", timeout=5)
    assert answer.status_code == 200, answer.text
    return [item["name"] for item in answer.json()]


def test_sighup_reloads_the_file(served: tuple[subprocess.Popen[bytes], str, Path], config: Path) -> None:
    process, url, log = served
    assert _receivers(url) == ["default-log"]

    changed = {**FILE, "receivers": [*FILE["receivers"], {"name": "added", "type": "log"}]}
    config.write_text(yaml.safe_dump(changed), encoding="utf-8")
    process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while _receivers(url) != ["default-log", "added"]:
        assert time.monotonic() < deadline, f"no reload after SIGHUP:\n{log.read_text(errors='replace')}"
        time.sleep(0.1)

    # An invalid file: the running configuration stays, the log says why, the process lives on.
    config.write_text("route: {receiver: nobody}\nreceivers: [{name: x, type: log}]\n", encoding="utf-8")
    process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "unknown receiver 'nobody'" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"no failed reload logged:\n{log.read_text(errors='replace')}"
        time.sleep(0.1)
    assert process.poll() is None
    assert _receivers(url) == ["default-log", "added"]
    assert "reload (SIGHUP) failed" in log.read_text(errors="replace")


def test_an_invalid_file_stops_serve(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("route: {receiver: nobody}\nreceivers: [{name: x, type: log}]\n", encoding="utf-8")
    result = subprocess.run(
        [str(ALERT_HANDLER), "serve", "--port", str(free_port())],
        env=_environment(tmp_path, config),
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"{config}: route.receiver: unknown receiver 'nobody'" in result.stderr.decode()
