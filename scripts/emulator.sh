#!/usr/bin/env bash
# Run the local Cloudflare emulator (python -m emulator) in the background.
#
#   scripts/emulator.sh start    [--port P] [--edge-port E | --no-edge] [--data-dir D] [--account-id ID] [--token T] [--host H]
#                                [--zone NAME[:PLAN]]...
#   scripts/emulator.sh stop     [--data-dir D]
#   scripts/emulator.sh status   [--data-dir D]
#   scripts/emulator.sh edge-url [--data-dir D]
#   scripts/emulator.sh admin-token [--data-dir D]
#
# Defaults: port 8791, edge port 8792 (0 with --port 0), data dir .emulator-data/ (state.sqlite3,
# emulator.pid, emulator.log, emulator.url, emulator.edge-url, admin-token). `start` waits for the emulator's
# ready line and prints the API base URL (http://127.0.0.1:PORT/client/v4) on stdout and the edge
# URL (deployed Workers, reached with a Host header) on stderr; it is a no-op that prints the URLs
# when the emulator of that data dir already runs. --port 0 picks a free port. The edge needs
# emulator/runtime/node_modules (scripts/bootstrap.sh); without it the emulator starts API-only.
# `stop` sends SIGTERM and waits. `status` prints the URL and exits 0 when it runs, 3 when not.
# `edge-url` prints the edge URL (exit 3 when the emulator or its edge does not run).
# `admin-token` prints the token the admin API (/__emulator/*, all but /health) needs as
# `Authorization: Bearer <token>`; the emulator writes it 0600 in the data dir (exit 3 when absent).
# --host other than 127.0.0.1 exposes the emulator to the network: it prints a warning (in the log).
# --zone NAME[:PLAN] (repeatable; plans free, pro, business, enterprise) replaces the default zone, example.com
# on Pro (so that every playbook of inventories/local runs: health checks need a paid zone); --zone example.com
# starts it on Free, as a new account's zone is.
set -euo pipefail

CALLER_DIR="$PWD"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

usage() {
    sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

command="${1:-}"
[ -n "$command" ] || usage
shift

PORT=8791
EDGE_PORT=""
EDGE=1
DATA_DIR="$REPO/.emulator-data"
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --port) PORT="${2:?--port needs a value}"; shift 2 ;;
        --edge-port) EDGE_PORT="${2:?--edge-port needs a value}"; shift 2 ;;
        --no-edge) EDGE=0; shift ;;
        --data-dir) DATA_DIR="${2:?--data-dir needs a value}"; shift 2 ;;
        --account-id|--token|--host|--zone) EXTRA+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
        -h|--help) usage ;;
        *) echo "emulator.sh: unknown argument $1" >&2; usage ;;
    esac
done
case "$DATA_DIR" in /*) ;; *) DATA_DIR="$CALLER_DIR/$DATA_DIR" ;; esac
if [ "$command" = start ]; then
    mkdir -p "$DATA_DIR"
fi
PID_FILE="$DATA_DIR/emulator.pid"
LOG_FILE="$DATA_DIR/emulator.log"
URL_FILE="$DATA_DIR/emulator.url"
EDGE_URL_FILE="$DATA_DIR/emulator.edge-url"
if [ -z "$EDGE_PORT" ]; then
    if [ "$PORT" = 0 ]; then EDGE_PORT=0; else EDGE_PORT=8792; fi
fi
READY_TIMEOUT="${EMULATOR_READY_TIMEOUT:-60}"
STOP_TIMEOUT="${EMULATOR_STOP_TIMEOUT:-15}"

say() { printf 'emulator.sh: %s\n' "$*" >&2; }

# The pid of the emulator of this data dir, if it runs.
running_pid() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [ -n "$pid" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # A recycled pid belongs to some other program: the emulator's command line names the module.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '-m emulator' || return 1
    printf '%s\n' "$pid"
}

python_bin() {
    if [ -x "$REPO/.venv/bin/python" ]; then
        printf '%s\n' "$REPO/.venv/bin/python"
    else
        command -v python3
    fi
}

start() {
    local pid url python waited=0
    if pid="$(running_pid)"; then
        url="$(cat "$URL_FILE")"
        say "already running (pid $pid, data dir $DATA_DIR)"
        [ -s "$EDGE_URL_FILE" ] && say "edge: $(cat "$EDGE_URL_FILE")"
        printf '%s\n' "$url"
        return 0
    fi
    rm -f "$PID_FILE" "$URL_FILE" "$EDGE_URL_FILE"
    python="$(python_bin)"
    : >"$LOG_FILE"
    if [ "$EDGE" = 1 ] && [ ! -f "$REPO/emulator/runtime/node_modules/miniflare/package.json" ]; then
        say "WARNING: emulator/runtime/node_modules is missing (run scripts/bootstrap.sh): starting without the edge"
        EDGE=0
    fi
    if [ "$EDGE" = 1 ]; then
        EXTRA+=(--edge-port "$EDGE_PORT")
    fi
    if [[ " ${EXTRA[*]-} " != *" --zone "* ]]; then
        EXTRA+=(--zone example.com:pro)
    fi
    # setsid: the emulator outlives this script and is not hit by the caller's Ctrl-C.
    PYTHONUNBUFFERED=1 setsid "$python" -m emulator --port "$PORT" --data-dir "$DATA_DIR" \
        ${EXTRA[@]+"${EXTRA[@]}"} </dev/null >>"$LOG_FILE" 2>&1 &
    pid=$!
    echo "$pid" >"$PID_FILE"
    while :; do
        url="$(sed -n 's/^cfops emulator ready: \(http[^ ]*\).*$/\1/p' "$LOG_FILE" | head -n 1)"
        if [ -n "$url" ]; then
            echo "$url" >"$URL_FILE"
            # The edge line follows the ready line at once (both are printed once everything listens).
            if [ "$EDGE" = 1 ]; then
                local edge_url="" tries=0
                while [ -z "$edge_url" ] && [ "$tries" -lt 50 ]; do
                    edge_url="$(sed -n 's/^cfops emulator edge: \(http[^ ]*\).*$/\1/p' "$LOG_FILE" | head -n 1)"
                    [ -n "$edge_url" ] || { sleep 0.1; tries=$((tries + 1)); }
                done
                echo "$edge_url" >"$EDGE_URL_FILE"
                say "edge: $edge_url"
            fi
            say "started (pid $pid, data dir $DATA_DIR, log $LOG_FILE, admin token in $DATA_DIR/admin-token)"
            grep -q '^WARNING: the cfops emulator listens on' "$LOG_FILE" && sed -n '/^!!!!/,/^!!!!/p' "$LOG_FILE" >&2
            printf '%s\n' "$url"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            say "the emulator exited before it was ready; the end of $LOG_FILE:"
            tail -n 30 "$LOG_FILE" >&2 || true
            rm -f "$PID_FILE"
            return 1
        fi
        if [ "$waited" -ge $((READY_TIMEOUT * 10)) ]; then
            say "not ready after ${READY_TIMEOUT}s; stopping it. The end of $LOG_FILE:"
            tail -n 30 "$LOG_FILE" >&2 || true
            kill -TERM "$pid" 2>/dev/null || true
            rm -f "$PID_FILE"
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

stop() {
    local pid waited=0
    if ! pid="$(running_pid)"; then
        say "not running (data dir $DATA_DIR)"
        rm -f "$PID_FILE" "$URL_FILE" "$EDGE_URL_FILE"
        return 0
    fi
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then
            say "pid $pid did not stop ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    rm -f "$PID_FILE" "$URL_FILE" "$EDGE_URL_FILE"
    say "stopped (pid $pid)"
}

status() {
    local pid
    if pid="$(running_pid)"; then
        say "running (pid $pid, data dir $DATA_DIR)"
        [ -s "$EDGE_URL_FILE" ] && say "edge: $(cat "$EDGE_URL_FILE")"
        cat "$URL_FILE"
        return 0
    fi
    say "not running (data dir $DATA_DIR)"
    return 3
}

admin_token() {
    if [ -s "$DATA_DIR/admin-token" ]; then
        cat "$DATA_DIR/admin-token"
        return 0
    fi
    say "no admin token in $DATA_DIR (the emulator writes it at its first start)"
    return 3
}

edge_url() {
    if running_pid >/dev/null && [ -s "$EDGE_URL_FILE" ]; then
        cat "$EDGE_URL_FILE"
        return 0
    fi
    say "no edge runs (data dir $DATA_DIR)"
    return 3
}

case "$command" in
    edge-url) edge_url ;;
    admin-token) admin_token ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac
