#!/usr/bin/env bash
# Stops what deploy/local/start.sh started: `stop.sh [redis|kafka|postgres|all]` (default all).
# Only processes recorded in this checkout's pid files (and its own PostgreSQL data folder) are
# touched; a service that is not running is skipped. Safe to re-run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_postgres() {
    local base data pidfile="$WAQITI_STATE/pids/postgres.pid"
    base=$(postgres_base_dir)
    data="$base/data"
    # The data folder is this checkout's own, so a server running from it is ours even when the
    # pid file was lost.
    if [[ -f $data/postmaster.pid ]] && kill -0 "$(head -n1 "$data/postmaster.pid")" 2>/dev/null; then
        local pid
        pid=$(head -n1 "$data/postmaster.pid")
        runuser -u postgres -- "$WAQITI_PG_BIN/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null ||
            die "postgres: pg_ctl stop failed; see $WAQITI_LOGS/postgres.log"
        log "postgres: stopped (pid $pid)"
    else
        log "postgres: not running"
    fi
    rm -f "$pidfile"
}

main() {
    local target=${1:-all}
    case $target in
    redis) stop_pidfile redis "$WAQITI_STATE/pids/redis.pid" ;;
    kafka) stop_pidfile kafka "$WAQITI_STATE/pids/kafka.pid" ;;
    postgres) stop_postgres ;;
    all)
        stop_postgres
        stop_pidfile kafka "$WAQITI_STATE/pids/kafka.pid"
        stop_pidfile redis "$WAQITI_STATE/pids/redis.pid"
        ;;
    *) die "usage: deploy/local/stop.sh [redis|kafka|postgres|all] (got '$target')" ;;
    esac
}

main "$@"
