#!/usr/bin/env python3
"""Helpers of bench/e2e.sh (standard library only; runs with any Python 3.11).

    e2e_tool.py cpu PID...                 CPU seconds used so far by these process trees
    e2e_tool.py harness SHELL-PID SINK-PID CPU seconds of the shell's finished children (the senders,
                                           once waited for) and of the sink
    e2e_tool.py cores                      busy CPU seconds so far of each core (/proc/stat)
    e2e_tool.py collect [options]          one JSON line for one run: the senders' loadgen results
                                           combined with what the sink received (duplicates too)
    e2e_tool.py table RESULTS.jsonl        markdown table, median [min-max] over rounds

Percentiles of a run with several senders: each sender (one loadgen process) reports its own;
the run's percentile lies between the smallest and the largest of them (the run's distribution
is the mixture of the senders'), so the table shows the largest, an upper bound that is exact
for a single sender. The maximum is exact.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import urllib.request
from collections import OrderedDict
from typing import Any

CLK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- cpu
def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _cpu(pid: int) -> float:
    """utime + stime of the process and of its reaped children (short-lived backends, pool children)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return sum(int(v) for v in fields[11:15]) / CLK


def tree_cpu(roots: list[int]) -> float:
    kids = _children()
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(kids.get(pid, []))
    return sum(_cpu(pid) for pid in seen)


def reaped_cpu(pid: int) -> float:
    """cutime + cstime: CPU of the children this process has waited for."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[13]) + int(fields[14])) / CLK


def core_busy() -> list[float]:
    busy = []
    with open("/proc/stat") as f:
        for line in f:
            name, *values = line.split()
            if name.startswith("cpu") and name != "cpu":
                v = [int(x) for x in values[:8]]
                busy.append((sum(v) - v[3] - v[4]) / CLK)  # all but idle and iowait
    return busy


# ---------------------------------------------------------------- collect
def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:  # loopback sink only
        return json.load(answer)


def collect(args: argparse.Namespace) -> dict[str, Any]:
    senders = []
    for path in args.sender_out:
        try:
            with open(path) as f:
                lines = [line for line in f if line.startswith("{")]
            senders.append(json.loads(lines[-1]))
        except (OSError, IndexError, ValueError):
            senders.append(None)
    done = [s for s in senders if s is not None]
    sink = args.sink_url.rstrip("/")
    sent = sum(s["alerts_sent"] for s in done)
    runs = args.runs or [s["run_id"] for s in done]  # all senders' runs, a sender that failed too

    def arrivals() -> dict[str, dict[str, float]]:
        return {run: _get(f"{sink}/e2e?run={run}") for run in runs}

    # Wait until every alert arrived and nothing more came for `settle` seconds (late copies are
    # duplicates), or until nothing came for `stall` seconds, or `drain_max` seconds in all.
    start = time.monotonic()
    last: tuple[int, int] | None = None
    changed = start
    while True:
        now = time.monotonic()
        seen = (sum(len(a) for a in arrivals().values()), _get(f"{sink}/stats")["e2e_alerts"])
        if seen != last:
            last, changed = seen, now
        if seen[0] >= sent and now - changed >= args.settle:
            break
        if now - changed >= args.stall or now - start >= args.drain_max:
            break
        time.sleep(0.5)
    for _ in range(10):  # a consistent reading: the sink's counters unchanged around the tables
        stats = _get(f"{sink}/stats")
        by_run = arrivals()
        if _get(f"{sink}/stats") == stats:
            break
        time.sleep(0.5)
    unique = sum(len(a) for a in by_run.values())
    received: list[float] = [t for a in by_run.values() for t in a.values()]
    received.sort()
    before = [float(x) for x in args.cores_before.split(",")] if args.cores_before else []
    after = [float(x) for x in args.cores_after.split(",")] if args.cores_after else []
    errors: dict[str, int] = {}
    for s in done:
        for k, v in s["errors"].items():
            errors[k] = errors.get(k, 0) + v

    def pick(key: str, how: Any) -> float | None:
        values = [v for s in done if (v := s["e2e_ms"][key]) is not None and not math.isnan(v)]
        return how(values) if values else None

    span = received[-1] - received[0] if len(received) > 1 else 0.0
    wall = args.wall or None
    return {
        "mode": "e2e-run",
        "label": args.label,
        "round": args.round,
        "rate": args.rate,
        "senders": len(senders),
        "senders_failed": len(senders) - len(done),
        "sent": sent,
        "arrived": unique,  # at the sink in the end (loadgen's wait, then the drain)
        "drain_s": round(time.monotonic() - start, 1),
        "notified": sum(s["notified"] for s in done),
        "missing": sum(s["missing"] for s in done),
        # arrived after loadgen stopped waiting (not in its percentiles)
        "late": unique - sum(s["notified"] for s in done),
        # the sink keeps the first arrival per (run, id) and counts every alert it is sent:
        # the difference is the number of copies beyond the first (duplicates)
        "duplicates": stats["e2e_alerts"] - unique,
        "sink_notifications": stats["notifications"],
        "sink_alerts": stats["alerts"],
        "errors": errors,
        "e2e_ms": {
            "min": pick("min", min),
            "p50": pick("p50", max),
            "p50_low": pick("p50", min),
            "p99": pick("p99", max),
            "p99_low": pick("p99", min),
            "max": pick("max", max),
        },
        "post_ms_p99": max((s["post_ms"]["p99"] for s in done), default=None),
        "delivered_per_s": round((len(received) - 1) / span, 1) if span > 0 else None,
        "wall_s": wall,
        "service_cpu": round(args.service_cpu / wall, 2) if wall and args.service_cpu is not None else None,
        "db_cpu": round(args.db_cpu / wall, 2) if wall and args.db_cpu is not None else None,
        "harness_cpu": round(args.harness_cpu / wall, 2) if wall and args.harness_cpu is not None else None,
        "core_busy": [round((b - a) / wall, 2) for a, b in zip(before, after, strict=True)] if wall else None,
        "loadavg_end": open("/proc/loadavg").read().split()[0],
        "sender_runs": runs,
    }


# ---------------------------------------------------------------- table
def _mr(values: list[float | None], fmt: str = "{:.1f}") -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} [{fmt.format(min(vals))}–{fmt.format(max(vals))}]"  # noqa: RUF001 (as RESULTS.md)


def table(path: str) -> str:
    runs: OrderedDict[tuple[str, float], list[dict[str, Any]]] = OrderedDict()
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                runs.setdefault((r["label"], r["rate"]), []).append(r)
    out = [
        "| system | offered alerts/s | rounds | notified / sent | duplicates | p50 ms | p99 ms | max ms "
        "| delivered alerts/s | POST p99 ms | service CPU | DB CPU | CPU 0 / CPU 1 busy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (label, rate), rs in sorted(runs.items(), key=lambda kv: (kv[0][1], list(runs).index(kv[0]))):
        sent = sum(r["sent"] for r in rs)
        notified = sum(r["notified"] for r in rs)
        failed = sum(r["senders_failed"] for r in rs)
        errors = sum(sum(r["errors"].values()) for r in rs)
        note = ""
        if failed:
            note += f" ({failed} sender(s) timed out)"
        if errors:
            note += f" ({errors} POST errors)"
        late = sum(r["late"] for r in rs)
        if late:
            note += f" (+{late:,} later)"
        lost = sum(r["sent"] - r["arrived"] for r in rs)
        if lost:
            note += f" ({lost:,} never arrived)"
        busy = [r["core_busy"] for r in rs if r.get("core_busy")]
        out.append(
            "| "
            + " | ".join(
                [
                    label,
                    f"{rate:g} ({rs[0]['senders']} sender{'s' if rs[0]['senders'] > 1 else ''})",
                    str(len(rs)),
                    f"{notified:,} / {sent:,}{note}",
                    str(sum(r["duplicates"] for r in rs)),
                    _mr([r["e2e_ms"]["p50"] for r in rs]),
                    _mr([r["e2e_ms"]["p99"] for r in rs]),
                    _mr([r["e2e_ms"]["max"] for r in rs]),
                    _mr([r["delivered_per_s"] for r in rs], "{:.0f}"),
                    _mr([r["post_ms_p99"] for r in rs]),
                    _mr([r["service_cpu"] for r in rs], "{:.2f}"),
                    _mr([r["db_cpu"] for r in rs], "{:.2f}"),
                    " / ".join(_mr([b[i] for b in busy], "{:.2f}") for i in range(len(busy[0]))) if busy else "n/a",
                ]
            )
            + " |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    cpu = sub.add_parser("cpu")
    cpu.add_argument("pids", nargs="*", type=int)
    col = sub.add_parser("collect")
    col.add_argument("--label", required=True)
    col.add_argument("--round", type=int, default=1)
    col.add_argument("--rate", type=float, required=True)
    col.add_argument("--sink-url", default="http://127.0.0.1:9099")
    col.add_argument("--sender-out", nargs="+", required=True, help="stdout files of the loadgen senders")
    col.add_argument("--runs", nargs="*", help="the senders' bench_run values")
    col.add_argument("--settle", type=float, default=3.0, help="quiet seconds after the last arrival")
    col.add_argument("--stall", type=float, default=15.0, help="give up after this long without an arrival")
    col.add_argument("--drain-max", type=float, default=180.0, help="give up after this long in all")
    col.add_argument("--wall", type=float, help="seconds between the CPU readings")
    col.add_argument("--service-cpu", type=float, help="CPU seconds of the service during the run")
    col.add_argument("--db-cpu", type=float, help="CPU seconds of its database (and broker) during the run")
    col.add_argument("--harness-cpu", type=float, help="CPU seconds of the senders and the sink during the run")
    col.add_argument("--cores-before", help="`cores` output before the run")
    col.add_argument("--cores-after", help="`cores` output after the run")
    col.add_argument("--json-out", required=True)
    har = sub.add_parser("harness")
    har.add_argument("shell", type=int)
    har.add_argument("sink", type=int)
    sub.add_parser("cores")
    tab = sub.add_parser("table")
    tab.add_argument("results")
    args = ap.parse_args()
    if args.command == "cpu":
        print(f"{tree_cpu(args.pids):.2f}")
    elif args.command == "harness":
        print(f"{reaped_cpu(args.shell) + tree_cpu([args.sink]):.2f}")
    elif args.command == "cores":
        print(",".join(f"{b:.2f}" for b in core_busy()))
    elif args.command == "collect":
        result = collect(args)
        with open(args.json_out, "a") as f:
            f.write(json.dumps(result) + "\n")
        e2e = result["e2e_ms"]
        print(
            f"  {result['label']} @ {result['rate']:g}/s: {result['notified']}/{result['sent']} notified, "
            f"{result['duplicates']} duplicates, p50 {e2e['p50']} ms, p99 {e2e['p99']} ms, max {e2e['max']} ms, "
            f"delivered {result['delivered_per_s']}/s, service CPU {result['service_cpu']}, DB CPU {result['db_cpu']}, "
            f"harness CPU {result['harness_cpu']}, busy cores {result['core_busy']}",
            file=sys.stderr,
        )
    else:
        print(table(args.results))


if __name__ == "__main__":
    main()
