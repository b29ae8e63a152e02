#!/usr/bin/env bash
# End-to-end latency: time from the POST of an alert until the webhook sink holds its notification.
# Alertmanager 0.25, alert-handler embedded on SQLite, alert-handler with Celery (two workers) on
# PostgreSQL + Redis; same machine, same run, each system at 100 and 1,000 alerts/s.
#
#   bench/e2e.sh                       # 3 rounds of everything (about 20 minutes)
#   bench/e2e.sh --rounds 1
#   SYSTEMS="embedded" RATES="100" bench/e2e.sh --rounds 1
#
# Every alert is its own group (group_by ['...'], group_wait 0s) and goes to ../shared/bench's
# sink.py on 127.0.0.1:9099 (our config: bench/e2e-config.yaml; Alertmanager's: the one
# setup-alertmanager.sh writes). A fresh server, database and sink for every run.
#
# Senders: loadgen's --e2e mode keeps one POST in flight and waits for its answer, so one loadgen
# cannot offer more than 1/(POST latency) alerts/s. Each run therefore uses ceil(RATE /
# SENDER_RATE) loadgen processes at SENDER_RATE alerts/s each (default 100: one sender at
# 100/s, ten at 1,000/s), started together, each with its own bench_run.
#
# Placement (2 cores): the service and its database/broker on SERVICE_CPUS (default CPU 0): the
# Alertmanager process; the alert-handler process with SQLite; the API, both Celery workers,
# beat, PostgreSQL and Redis. The senders on LOADGEN_CPUS (CPU 1). The sink unpinned, as
# setup-alertmanager.sh starts it (it stands for a remote receiver). WORKER_CPUS moves the
# Celery workers and beat elsewhere (e.g. WORKER_CPUS=1 or 0-1).
#
# Results: one JSON line per run in bench/out/e2e-<date>.jsonl, and a markdown table on stdout.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
SHARED="${SHARED_BENCH:-$ROOT/../shared/bench}"
[ -d "$SHARED" ] || SHARED="/work/shared/bench"
BENCH_VENVS="${BENCH_VENVS:-${XDG_CACHE_HOME:-$HOME/.cache}/alert-handler-bench}"; export BENCH_VENVS

ROUNDS="${ROUNDS:-3}"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --rounds=*) ROUNDS="${1#*=}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
SYSTEMS="${SYSTEMS:-alertmanager embedded celery}"
RATES="${RATES:-100 1000}"            # offered alerts/s
DURATION="${DURATION:-15}"            # seconds of sending per run: -n = rate * DURATION
SENDER_RATE="${SENDER_RATE:-100}"     # alerts/s per loadgen process
WARMUP="${WARMUP:-20}"                # alerts sent (and waited for) before each run, not measured
SETTLE="${SETTLE:-3}"                 # quiet seconds after the last arrival, for late copies (duplicates)
E2E_WAIT="${E2E_WAIT:-120}"           # loadgen: at most this long to wait for the last notifications
DRAIN_MAX="${DRAIN_MAX:-180}"         # then at most this long for the rest (and for copies)
SERVICE_CPUS="${SERVICE_CPUS:-0}"
WORKER_CPUS="${WORKER_CPUS:-$SERVICE_CPUS}"
LOADGEN_CPUS="${LOADGEN_CPUS:-1}"
PORT="${PORT:-8000}"
SINK_PORT=9099                        # bench/e2e-config.yaml and setup-alertmanager.sh say 9099
PG_ADMIN="${PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/postgres}"
PG_DB="${PG_DB:-ah_e2e}"
REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_DB="${REDIS_DB:-13}"            # FLUSHDB'd before every Celery run
CELERY_WORKERS="${CELERY_WORKERS:-2}"
CELERY_POOL="${CELERY_POOL:-prefork}"     # prefork (one child each, --concurrency 1) or solo
CELERY_LOGLEVEL="${CELERY_LOGLEVEL:-WARNING}"  # INFO logs two lines per task
TICK="${SCHEDULER_TICK_SECONDS:-1}"

OUT="$HERE/out"; mkdir -p "$OUT"
RESULTS="${RESULTS:-$OUT/e2e-$(date +%Y%m%d-%H%M%S).jsonl}"
RUN="$OUT/e2e-run"; rm -rf "$RUN"; mkdir -p "$RUN/procs"
AH="$ROOT/.venv/bin/alert-handler"
CELERY="$ROOT/.venv/bin/celery"
PY="$BENCH_VENVS/.venv-loadgen/bin/python"
TOOL=("$PY" "$HERE/e2e_tool.py")
CONFIG="$HERE/e2e-config.yaml"
SINK_URL="http://127.0.0.1:$SINK_PORT"
NCPU=$(nproc)

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- processes we start
# Every process is started in its own process group (setsid), its PID recorded in $RUN/procs;
# stop_procs ends those groups (TERM, then KILL after 10 s), and nothing else.
start_proc() {  # name cpus logfile command...
  local name=$1 cpus=$2 logfile=$3; shift 3
  setsid taskset -c "$cpus" "$@" >"$logfile" 2>&1 </dev/null &
  echo $! >"$RUN/procs/$name.pid"
}

stop_procs() {
  local f pid
  for f in "$RUN"/procs/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for f in "$RUN"/procs/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    for _ in $(seq 1 100); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

pids_of() { local f; for f in "$@"; do [ -e "$RUN/procs/$f.pid" ] && cat "$RUN/procs/$f.pid"; done; }

wait_http() {  # url seconds
  local i
  for i in $(seq 1 $(($2 * 10))); do curl -fsS --max-time 1 "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

port_free() { ! curl -sS --max-time 1 "http://127.0.0.1:$1/" >/dev/null 2>&1; }

# ---------------------------------------------------------------- shared services (pinning)
pg_pids() { pgrep -x postgres || true; pgrep -f "bin/postgres" || true; }
redis_pid() { redis-cli -p "$REDIS_PORT" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p'; }
pin_shared() {  # CPU list: PostgreSQL (all its processes; new backends inherit) and Redis
  local pid
  for pid in $(pg_pids) $(redis_pid); do taskset -a -cp "$1" "$pid" >/dev/null 2>&1 || true; done
}
unpin_shared() { pin_shared "0-$((NCPU - 1))"; }

SENDERS=()   # PIDs of the running loadgen senders (each under `timeout`)
KEY=
cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${SENDERS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  stop_procs
  "$SHARED/stop.sh" "$RUN/am" >/dev/null 2>&1 || true
  unpin_shared
  [ $rc -eq 0 ] || log "failed (exit $rc); logs in $RUN"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- one measured run
sink_start() {
  port_free "$SINK_PORT" || die "port $SINK_PORT is taken (another sink or benchmark running?)"
  start_proc sink "0-$((NCPU - 1))" "$RUN/sink.log" "$PY" "$SHARED/sink.py" --port "$SINK_PORT"
  wait_http "$SINK_URL/stats" 10 || die "sink did not start (see $RUN/sink.log)"
}

sink_pid() { if [ -e "$RUN/procs/sink.pid" ]; then cat "$RUN/procs/sink.pid"; else cat "$RUN/am/sink.pid"; fi; }

sink_count() { curl -fsS --max-time 2 "$SINK_URL/stats" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["notifications"])'; }

warm_up() {  # target url [curl header args]: WARMUP alerts, each its own group, then wait for them
  local target=$1 url=$2 i body; shift 2
  [ "$WARMUP" -gt 0 ] || return 0
  for i in $(seq 1 "$WARMUP"); do
    if [ "$target" = alertmanager ]; then
      body="[{\"labels\":{\"alertname\":\"BenchWarmup$i\",\"bench_warmup\":\"$i\"}}]"
      curl -fsS --max-time 5 -o /dev/null -XPOST "$url/api/v2/alerts" -H 'Content-Type: application/json' -d "$body"
    else
      body="{\"source\":\"warmup\",\"severity\":\"warning\",\"title\":\"Bench warm-up $i\",\"labels\":{\"bench_warmup\":\"$i\"}}"
      curl -fsS --max-time 5 -o /dev/null -XPOST "$url/api/v1/alerts" -H 'Content-Type: application/json' "$@" -d "$body"
    fi
  done
  for i in $(seq 1 300); do [ "$(sink_count)" -ge "$WARMUP" ] && break; sleep 0.1; done
  [ "$(sink_count)" -ge "$WARMUP" ] || die "warm-up: $(sink_count)/$WARMUP notifications after 30 s"
  curl -fsS --max-time 2 -o /dev/null -XPOST "$SINK_URL/reset"
}

measure() {  # label round rate target url service-pids db-pids [loadgen args]
  local label=$1 round=$2 rate=$3 target=$4 url=$5 svc=$6 db=$7; shift 7
  local senders=$(((rate + SENDER_RATE - 1) / SENDER_RATE))
  local per=$((rate / senders)) n=$((rate / senders * DURATION)) k tag outs=() runs=()
  local limit=$((DURATION * 8 + E2E_WAIT + 15))  # a sender slowed down 8x, then its wait
  tag="$(date +%H%M%S)-$RANDOM"
  local c0 d0 h0 b0 t0 c1 d1 h1 b1 t1
  # shellcheck disable=SC2086
  c0=$("${TOOL[@]}" cpu $svc); d0=$("${TOOL[@]}" cpu $db); h0=$("${TOOL[@]}" harness $$ "$(sink_pid)")
  b0=$("${TOOL[@]}" cores); t0=$(date +%s.%N)
  for k in $(seq 1 "$senders"); do
    outs+=("$RUN/sender-$k.out"); runs+=("e2e$tag-s$k")
    timeout --kill-after 5 "$limit" taskset -c "$LOADGEN_CPUS" "$PY" "$SHARED/loadgen.py" --e2e --target "$target" \
      --url "$url" --sink-url "$SINK_URL" --rate "$per" -n "$n" --e2e-wait "$E2E_WAIT" --run-id "e2e$tag-s$k" \
      --label "$label" "$@" >"$RUN/sender-$k.out" 2>"$RUN/sender-$k.err" &
    SENDERS+=($!)
  done
  for k in "${SENDERS[@]}"; do wait "$k" || log "a sender failed or timed out after $limit s (exit $?)"; done
  SENDERS=()
  # shellcheck disable=SC2086
  c1=$("${TOOL[@]}" cpu $svc); d1=$("${TOOL[@]}" cpu $db); h1=$("${TOOL[@]}" harness $$ "$(sink_pid)")
  b1=$("${TOOL[@]}" cores); t1=$(date +%s.%N)
  local db_args=()
  [ -n "$db" ] && db_args=(--db-cpu "$(echo "$d1 - $d0" | bc)")
  "${TOOL[@]}" collect --label "$label" --round "$round" --rate "$rate" --sink-url "$SINK_URL" \
    --settle "$SETTLE" --drain-max "$DRAIN_MAX" --runs "${runs[@]}" \
    --sender-out "${outs[@]}" --wall "$(echo "$t1 - $t0" | bc)" --service-cpu "$(echo "$c1 - $c0" | bc)" \
    --harness-cpu "$(echo "$h1 - $h0" | bc)" --cores-before "$b0" --cores-after "$b1" "${db_args[@]}" --json-out "$RESULTS"
  rm -f "${outs[@]}"
}

# ---------------------------------------------------------------- the three systems
run_alertmanager() {  # round rate
  SERVER_CPUS="$SERVICE_CPUS" RUN_DIR="$RUN/am" SINK_PORT="$SINK_PORT" \
    "$SHARED/setup-alertmanager.sh" 0s >"$RUN/am-setup.log" 2>&1 || die "setup-alertmanager.sh failed: $(tail -3 "$RUN/am-setup.log")"
  warm_up alertmanager http://127.0.0.1:9093
  measure "Alertmanager 0.25" "$1" "$2" alertmanager http://127.0.0.1:9093 "$(cat "$RUN/am/alertmanager.pid")" ""
  "$SHARED/stop.sh" "$RUN/am" >/dev/null
}

ah_env() {  # database-url worker-mode [broker]
  export DATABASE_URL=$1 WORKER_MODE=$2 BROKER_URL=${3:-} CONFIG_FILE="$CONFIG" LOG_LEVEL=WARNING \
    AUTH_ENABLED=true SCHEDULER_TICK_SECONDS="$TICK"
}

ah_start() {  # migrate, make an ingest key (KEY), start the API on SERVICE_CPUS
  "$AH" migrate >"$RUN/migrate.log" 2>&1 || die "migrate failed (see $RUN/migrate.log)"
  KEY=$("$AH" create-api-key --name e2e --scope ingest 2>>"$RUN/migrate.log") || die "create-api-key failed"
  port_free "$PORT" || die "port $PORT is taken"
  start_proc api "$SERVICE_CPUS" "$RUN/api.log" "$AH" serve --port "$PORT" --no-migrate
  wait_http "http://127.0.0.1:$PORT/health" 30 || die "alert-handler did not start (see $RUN/api.log)"
}

run_embedded() {  # round rate
  rm -f "$RUN"/e2e.db*
  ah_env "sqlite:///$RUN/e2e.db" embedded
  sink_start
  ah_start
  warm_up generic "http://127.0.0.1:$PORT" -H "Authorization: Bearer $KEY"
  measure "alert-handler embedded, SQLite" "$1" "$2" generic "http://127.0.0.1:$PORT" "$(pids_of api)" "" \
    --header "Authorization: Bearer $KEY"
  stop_procs
}

run_celery() {  # round rate
  timeout 30 psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" -c "CREATE DATABASE $PG_DB" >/dev/null
  timeout 10 redis-cli -p "$REDIS_PORT" -n "$REDIS_DB" FLUSHDB >/dev/null
  pin_shared "$SERVICE_CPUS"
  ah_env "${PG_ADMIN%/*}/$PG_DB" celery "redis://127.0.0.1:$REDIS_PORT/$REDIS_DB"
  sink_start
  local i
  ah_start
  for i in $(seq 1 "$CELERY_WORKERS"); do
    start_proc "worker$i" "$WORKER_CPUS" "$RUN/worker$i.log" "$CELERY" -A alert_handler.worker worker --pool "$CELERY_POOL" \
      --concurrency 1 -n "e2e$i@%h" --loglevel "$CELERY_LOGLEVEL" --without-gossip --without-mingle --without-heartbeat
  done
  start_proc beat "$WORKER_CPUS" "$RUN/beat.log" "$CELERY" -A alert_handler.worker beat --loglevel "$CELERY_LOGLEVEL" \
    --schedule "$RUN/beat-schedule"
  for i in $(seq 1 "$CELERY_WORKERS"); do  # each answers a ping (at most 20 tries, ~1-2 s each)
    local ok=
    for _ in $(seq 1 20); do
      timeout 10 "$CELERY" -A alert_handler.worker inspect ping -d "e2e$i@$(hostname)" --timeout 1 >/dev/null 2>&1 && { ok=1; break; }
      sleep 0.5
    done
    [ -n "$ok" ] || die "celery worker $i does not answer (see $RUN/worker$i.log)"
  done
  warm_up generic "http://127.0.0.1:$PORT" -H "Authorization: Bearer $KEY"
  # shellcheck disable=SC2046
  measure "alert-handler Celery ($CELERY_WORKERS workers), PostgreSQL + Redis" "$1" "$2" generic \
    "http://127.0.0.1:$PORT" "$(pids_of api beat $(for i in $(seq 1 "$CELERY_WORKERS"); do echo "worker$i"; done) | xargs)" \
    "$(echo $(pg_pids) $(redis_pid))" --header "Authorization: Bearer $KEY"
  stop_procs
  unpin_shared
}

# ---------------------------------------------------------------- main
"$SHARED/setup-loadgen-venv.sh" >/dev/null 2>&1 || die "setup-loadgen-venv.sh failed"
[ -x "$AH" ] || make -C "$ROOT" install >/dev/null
for system in $SYSTEMS; do
  case "$system" in
    alertmanager|embedded) ;;
    celery) [ -x "$CELERY" ] || die "celery is not installed in $ROOT/.venv" ;;
    *) die "unknown system $system (alertmanager, embedded, celery)" ;;
  esac
done
command -v bc >/dev/null || die "bc is needed"

log "results: $RESULTS; rounds $ROUNDS; systems: $SYSTEMS; rates: $RATES; $DURATION s per run"
log "commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src || echo '+changes'); $(nproc) CPUs"
for round in $(seq 1 "$ROUNDS"); do
  for rate in $RATES; do
    for system in $SYSTEMS; do
      log "round $round/$ROUNDS: $system at $rate alerts/s"
      "run_$system" "$round" "$rate"
    done
  done
done
echo
"${TOOL[@]}" table "$RESULTS"
