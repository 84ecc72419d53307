# Shared by scripts/test and scripts/run (sourced): step banners, the Swift toolchain on PATH,
# and a stack "session" that starts the local services and, on exit, stops only the ones it
# started (a stack that was already running before stays running).
# shellcheck shell=bash

WAQITI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$WAQITI_ROOT"

step() { printf '\n==> %s\n' "$*" >&2; }

# The Swift toolchain lives in /opt/swift on the project's machines; a non-login shell (CI) may
# not have it on PATH.
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="$PATH:/opt/swift/usr/bin"
fi
command -v swift >/dev/null 2>&1 || { echo "error: swift not found on PATH (expected /opt/swift/usr/bin)" >&2; exit 1; }

WAQITI_SERVICES_STARTED=()

# Starts every service that is not running yet and remembers which ones this session started.
start_stack_session() {
    local service
    for service in redis kafka postgres; do
        if ! deploy/local/status.sh "$service" >/dev/null 2>&1; then
            WAQITI_SERVICES_STARTED+=("$service")
        fi
    done
    trap stop_stack_session EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    deploy/local/start.sh all
    # shellcheck source=../deploy/local/env.sh
    source deploy/local/env.sh
}

stop_stack_session() {
    local service
    ((${#WAQITI_SERVICES_STARTED[@]} == 0)) && return 0
    step "stopping what this run started: ${WAQITI_SERVICES_STARTED[*]}"
    for service in "${WAQITI_SERVICES_STARTED[@]}"; do
        deploy/local/stop.sh "$service" || true
    done
    WAQITI_SERVICES_STARTED=()
}
