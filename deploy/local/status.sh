#!/usr/bin/env bash
# Shows whether each service of the local stack is running: `status.sh [redis|kafka|postgres|all]`.
# Exit code 0 when every named service is running and accepts connections, 1 otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

port_of() {
    case $1 in
    redis) echo "$WAQITI_REDIS_PORT" ;;
    kafka) echo "$WAQITI_KAFKA_PORT" ;;
    postgres) echo "$WAQITI_POSTGRES_PORT" ;;
    esac
}

# Prints one line per service; returns 1 when it is not running and reachable.
status_of() {
    local name=$1 port pid
    port=$(port_of "$name")
    if pid=$(live_pid "$WAQITI_STATE/pids/$name.pid"); then
        if port_open "$port"; then
            printf '%-9s running  pid %-8s 127.0.0.1:%s  log %s\n' "$name" "$pid" "$port" "$WAQITI_LOGS/$name.log"
            return 0
        fi
        printf '%-9s starting pid %-8s 127.0.0.1:%s not accepting connections yet\n' "$name" "$pid" "$port"
        return 1
    fi
    if port_open "$port"; then
        printf '%-9s stopped  (port %s is taken by another process: %s)\n' "$name" "$port" "$(port_owner "$port")"
    else
        printf '%-9s stopped\n' "$name"
    fi
    return 1
}

main() {
    local target=${1:-all} services failed=0
    case $target in
    redis | kafka | postgres) services=("$target") ;;
    all) services=(redis kafka postgres) ;;
    *) die "usage: deploy/local/status.sh [redis|kafka|postgres|all] (got '$target')" ;;
    esac
    for service in "${services[@]}"; do
        status_of "$service" || failed=1
    done
    return "$failed"
}

main "$@"
