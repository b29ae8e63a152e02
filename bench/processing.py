#!/usr/bin/env python3
"""CPU per alert of one processing run (`run_once`) at a given batch size, on PostgreSQL, with
real webhook sends: the client's CPU (this process) and the PostgreSQL server's (all its
processes), per alert. In-process, so one change can be measured without a whole e2e run.
With DATABASE=sqlite, on a fresh SQLite file instead (the embedded default; no server CPU).

    .venv/bin/python bench/processing.py 1 10 100        # batch sizes (default 1 10 100)
    ROUNDS=20 .venv/bin/python bench/processing.py 100   # runs per size (default: 500 alerts' worth)
    DATABASE=sqlite .venv/bin/python bench/processing.py 1

Every alert is its own group and gets its own notification (bench/e2e-config.yaml), sent to
../shared/bench's sink.py on 127.0.0.1:9099 (started here when nothing listens there). The
database `ah_processing` (on PG_ADMIN's server) is made afresh and migrated; rounds after the
first two add to it, so the later ones run on a table of some thousands of alerts.
A/B: PYTHONPATH=<other checkout>/src runs that checkout's code with this script.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("SHARED_BENCH", HERE.parent.parent / "shared" / "bench"))
VENVS = Path(os.environ.get("BENCH_VENVS", Path.home() / ".cache" / "alert-handler-bench"))
PG_ADMIN = os.environ.get("PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = "ah_processing"
SQLITE = os.environ.get("DATABASE", "postgresql") == "sqlite"
SINK_PORT = 9099
ROUNDS = int(os.environ.get("ROUNDS", "0"))  # runs per batch size; 0: enough for 500 alerts (10 at least)


def _pg_server_ticks() -> int:
    found = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout.split()
    total = 0
    for pid in found:
        try:
            total += sum(int(x) for x in Path(f"/proc/{pid}/stat").read_text().split()[13:15])
        except OSError:  # a backend that ended meanwhile
            pass
    return total


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _start_sink() -> subprocess.Popen[bytes] | None:
    if _listening(SINK_PORT):
        return None
    python = VENVS / ".venv-loadgen" / "bin" / "python"
    if not python.exists():
        sys.exit(f"no sink on :{SINK_PORT} and no loadgen venv at {python}: run {SHARED}/setup-loadgen-venv.sh")
    sink = subprocess.Popen([str(python), str(SHARED / "sink.py"), "--port", str(SINK_PORT)])
    for _ in range(100):
        if _listening(SINK_PORT):
            return sink
        time.sleep(0.05)
    sink.kill()
    sys.exit("the sink did not start")


def _fresh_database() -> str:
    if SQLITE:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='ah-processing-')) / 'processing.db'}"
    else:
        for sql in (f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", f"CREATE DATABASE {DATABASE}"):
            subprocess.run(["psql", PG_ADMIN, "-qc", sql], check=True, capture_output=True)
        url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{DATABASE}"
    cli = Path(sys.executable).parent / "alert-handler"
    subprocess.run([str(cli), "migrate"], check=True, capture_output=True, env={**os.environ, "DATABASE_URL": url})
    return url


def main(sizes: list[int]) -> None:
    os.environ["DATABASE_URL"] = _fresh_database()
    os.environ["CONFIG_FILE"] = str(HERE / "e2e-config.yaml")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sink = _start_sink()
    try:
        _measure(sizes)
    finally:
        if sink is not None:
            sink.terminate()


def _measure(sizes: list[int]) -> None:
    from alert_handler import db
    from alert_handler.ingest.sources.native import NativeAlert
    from alert_handler.ingest.writer import utcnow
    from alert_handler.processing.run import run_once
    from alert_handler.store.alert_writes import store_batch
    from alert_handler.worker.context import WorkerContext

    context = WorkerContext.create()
    serial = time.time_ns() // 1000

    async def ingest(count: int) -> None:
        nonlocal serial
        now = utcnow()
        batch = []
        for _ in range(count):
            serial += 1
            body = {
                "source": "bench", "severity": "warning", "title": f"processing {serial}",
                "labels": {"alertname": "Bench", "instance": f"host-{serial}", "bench_e2e_id": str(serial)},
            }  # fmt: skip
            native = NativeAlert.model_validate(body)
            batch.append(native.normalize(tenant="default", identity_keys=["host"], actor="bench", now=now))
        async with db.write(context.pipeline.engine) as conn:
            await store_batch(conn, batch, now)

    async def one_size(size: int) -> None:
        for _ in range(2):  # warm: statements prepared, channel and pools made
            await ingest(size)
            await run_once(context.pipeline)
        client = system = server = wall = 0.0
        rounds = ROUNDS or max(10, 500 // size)
        for _ in range(rounds):
            await ingest(size)
            ticks, cpu, started = _pg_server_ticks(), os.times(), time.perf_counter()
            report = await run_once(context.pipeline)
            done = os.times()
            client += done.user + done.system - cpu.user - cpu.system
            system += done.system - cpu.system
            wall += time.perf_counter() - started
            server += (_pg_server_ticks() - ticks) / os.sysconf("SC_CLK_TCK")
            if report.processed != size or report.delivered.sent != size:
                sys.exit(f"expected {size} processed and sent, got {report.processed} and {report.delivered}")
        alerts = size * rounds
        database = "SQLite in-process" if SQLITE else f"PostgreSQL {server / alerts * 1e6:6.0f} us/alert"
        print(
            f"batch {size:>4}: client CPU {client / alerts * 1e6:6.0f} us/alert "
            f"({system / alerts * 1e6:5.0f} in the kernel), {database}, "
            f"{wall / rounds * 1e3:6.1f} ms per run ({rounds} runs)"
        )

    async def run_all() -> None:
        try:
            for size in sizes:
                await one_size(size)
        finally:
            await context.pipeline.channels.close()
            await context.pipeline.engine.dispose()

    context.run(run_all())


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 10, 100])
