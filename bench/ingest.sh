#!/usr/bin/env bash
# Ingest throughput: alert-handler (SQLite and PostgreSQL) against Alertmanager, same machine, same run.
#
#   bench/ingest.sh                 # 3 rounds, every system and shape
#   ROUNDS=1 SYSTEMS="postgresql" SHAPES="64" bench/ingest.sh
#   SYSTEMS="alertmanager floor postgresql" SHAPES="64" bench/ingest.sh   # with the floor app
#
# Fair set-up of ../shared/bench: the server under test (and its database) pinned to CPU 0,
# the load generator to CPU 1, a fresh server and database per run, 10 % duplicates,
# 32 requests in flight. Results: bench/out/ingest.jsonl and a markdown table on stdout.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
SHARED="${SHARED_BENCH:-$ROOT/../shared/bench}"
BENCH_VENVS="${BENCH_VENVS:-${XDG_CACHE_HOME:-$HOME/.cache}/alert-handler-bench}"; export BENCH_VENVS
ROUNDS="${ROUNDS:-3}"
SYSTEMS="${SYSTEMS:-alertmanager sqlite postgresql}"
SHAPES="${SHAPES:-1 64 256}"          # alerts per request
ALERTS="${ALERTS:-60000}"
MAX_SECONDS="${MAX_SECONDS:-30}"
PORT="${PORT:-8000}"
PG_ADMIN="${PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/test}"
OUT="$HERE/out"; mkdir -p "$OUT"
RESULTS="${RESULTS:-$OUT/ingest.jsonl}"
RUN="$OUT/run"; mkdir -p "$RUN"
AH="$ROOT/.venv/bin/alert-handler"
LG=(taskset -c 1 "$BENCH_VENVS/.venv-loadgen/bin/python" "$SHARED/loadgen.py")

"$SHARED/setup-loadgen-venv.sh" >/dev/null
[ -x "$AH" ] || make -C "$ROOT" install >/dev/null

pin_postgres() {  # CPU list: pin the PostgreSQL server and all its backends
  for pid in $(pgrep -x postgres || pgrep -f "postgres: " || true); do taskset -a -cp "$1" "$pid" >/dev/null 2>&1 || true; done
  for pid in $(pgrep -f "bin/postgres" || true); do taskset -a -cp "$1" "$pid" >/dev/null 2>&1 || true; done
}
trap 'pin_postgres 0-$(($(nproc) - 1)); [ -f "$RUN/ah.pid" ] && kill "$(cat "$RUN/ah.pid")" 2>/dev/null; "$SHARED/stop.sh" "$RUN/am" >/dev/null 2>&1 || true' EXIT

loadgen() {  # target url pid batch label [extra args]
  local target=$1 url=$2 pid=$3 batch=$4 label=$5; shift 5
  local n=$ALERTS; [ "$batch" = 1 ] && n=$((ALERTS / 2))
  "${LG[@]}" --target "$target" --url "$url" -n "$n" -c 32 -b "$batch" --dup-ratio 0.1 \
    --max-seconds "$MAX_SECONDS" --server-pid "$pid" --label "$label" --json-out "$RESULTS" "$@" | tail -1
}

run_alertmanager() {  # batch
  SERVER_CPUS=0 RUN_DIR="$RUN/am" "$SHARED/setup-alertmanager.sh" 30s >/dev/null
  loadgen alertmanager http://127.0.0.1:9093 "$(cat "$RUN/am/alertmanager.pid")" "$1" "alertmanager b=$1"
  "$SHARED/stop.sh" "$RUN/am" >/dev/null
}

fresh_pg_database() {  # name: dropped and made again on PG_ADMIN's server; prints its URL
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
  echo "${PG_ADMIN%/*}/$1"
}

postgres_pid() { pgrep -o -x postgres || pgrep -o -f bin/postgres; }

start_server() {  # log command...: the server under test on CPU 0, answering /health on PORT
  if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then echo "port $PORT is taken" >&2; exit 1; fi
  local log=$1; shift
  taskset -c 0 "$@" >"$log" 2>&1 &
  echo $! >"$RUN/ah.pid"
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
}

stop_server() {
  kill "$(cat "$RUN/ah.pid")"; wait "$(cat "$RUN/ah.pid")" 2>/dev/null || true; rm -f "$RUN/ah.pid"
}

run_floor() {  # batch: bench/floor_app.py, the plain FastAPI + asyncpg app (what durable ingest can reach here)
  local url; url=$(fresh_pg_database ah_floor)
  pin_postgres 0
  start_server "$RUN/floor.log" env DATABASE_URL="$url" "$ROOT/.venv/bin/python" "$HERE/floor_app.py" --port "$PORT"
  loadgen generic "http://127.0.0.1:$PORT" "$(cat "$RUN/ah.pid")" "$1" "floor (FastAPI + asyncpg) b=$1" \
    --db-pid "$(postgres_pid)"
  stop_server
  pin_postgres "0-$(($(nproc) - 1))"
}

run_alert_handler() {  # backend batch
  local backend=$1 batch=$2 url
  if [ "$backend" = sqlite ]; then
    rm -f "$RUN"/bench.db*; url="sqlite:///$RUN/bench.db"
  else
    url=$(fresh_pg_database ah_bench)
    pin_postgres 0
  fi
  export DATABASE_URL="$url" LOG_LEVEL=WARNING
  "$AH" migrate >/dev/null 2>&1
  # An experiment's change to the fresh schema (e.g. what an index costs): PostgreSQL only.
  [ -z "${AFTER_MIGRATE_SQL:-}" ] || [ "$backend" = sqlite ] || psql "$url" -qc "$AFTER_MIGRATE_SQL" >/dev/null
  local key; key=$("$AH" create-api-key --name bench --scope ingest 2>/dev/null)
  start_server "$RUN/ah.log" "$AH" serve --port "$PORT" --no-migrate
  local db=()
  [ "$backend" = sqlite ] || db=(--db-pid "$(postgres_pid)")
  loadgen generic "http://127.0.0.1:$PORT" "$(cat "$RUN/ah.pid")" "$batch" "alert-handler/$backend b=$batch" \
    --header "Authorization: Bearer $key" "${db[@]}"
  stop_server
  [ "$backend" = sqlite ] || pin_postgres "0-$(($(nproc) - 1))"
}

for round in $(seq 1 "$ROUNDS"); do
  for batch in $SHAPES; do
    for system in $SYSTEMS; do
      echo "round $round, $system, $batch alert(s) per request"
      case "$system" in
        alertmanager) run_alertmanager "$batch" ;;
        floor) run_floor "$batch" ;;
        *) run_alert_handler "$system" "$batch" ;;
      esac
    done
  done
done
"$BENCH_VENVS/.venv-loadgen/bin/python" "$SHARED/summarize.py" "$RESULTS"
