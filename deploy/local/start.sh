#!/usr/bin/env bash
# Starts the local stack on 127.0.0.1: `start.sh [redis|kafka|postgres|all]` (default all).
# Each service gets a pid file in .state/pids, a log in .state/logs and a readiness check; a
# service that is already running (ours, by pid file) is left alone, so re-running is safe.
# Run deploy/local/install.sh first; source deploy/local/env.sh afterwards.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$WAQITI_STATE/pids" "$WAQITI_LOGS"

start_redis() {
    local pidfile="$WAQITI_STATE/pids/redis.pid" dir="$WAQITI_STATE/redis" logfile="$WAQITI_LOGS/redis.log"
    if pid=$(live_pid "$pidfile"); then
        log "redis: already running (pid $pid, port $WAQITI_REDIS_PORT)"
        return
    fi
    command -v redis-server >/dev/null || die "redis: redis-server not found; run deploy/local/install.sh"
    ensure_port_free_or_ours redis "$WAQITI_REDIS_PORT" "$pidfile" WAQITI_REDIS_PORT
    mkdir -p "$dir"
    # Loopback only, no persistence: the feature windows are rebuilt from traffic.
    cat >"$dir/redis.conf" <<EOF
bind 127.0.0.1
protected-mode yes
port $WAQITI_REDIS_PORT
daemonize yes
pidfile "$pidfile"
logfile "$logfile"
dir "$dir"
save ""
appendonly no
EOF
    redis-server "$dir/redis.conf"
    wait_until redis 20 "$logfile" redis_ready "$pidfile"
    log "redis: ready on 127.0.0.1:$WAQITI_REDIS_PORT (pid $(<"$pidfile"))"
}

redis_ready() {
    [[ -s $1 ]] && [[ $(redis-cli -h 127.0.0.1 -p "$WAQITI_REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

start_kafka() {
    local pidfile="$WAQITI_STATE/pids/kafka.pid" logfile="$WAQITI_LOGS/kafka.log"
    local url="tcp://127.0.0.1:$WAQITI_KAFKA_PORT"
    if pid=$(live_pid "$pidfile"); then
        log "kafka: already running (pid $pid, port $WAQITI_KAFKA_PORT)"
    else
        [[ -x $WAQITI_TANSU ]] || die "kafka: Tansu not found at $WAQITI_TANSU; run deploy/local/install.sh"
        ensure_port_free_or_ours kafka "$WAQITI_KAFKA_PORT" "$pidfile" WAQITI_KAFKA_PORT
        # In-memory storage: every start is a fresh, empty cluster.
        setsid "$WAQITI_TANSU" broker --listener-url "$url" --advertised-listener-url "$url" \
            --storage-engine memory://tansu/ >>"$logfile" 2>&1 </dev/null &
        echo $! >"$pidfile"
        wait_until kafka 30 "$logfile" kafka_listening "$pidfile"
    fi
    create_topics "$url"
    log "kafka: ready on 127.0.0.1:$WAQITI_KAFKA_PORT (pid $(<"$pidfile")), topics: ${WAQITI_KAFKA_TOPICS[*]}"
}

kafka_listening() {
    live_pid "$1" >/dev/null || die "kafka: the broker exited during start; see $WAQITI_LOGS/kafka.log"
    port_open "$WAQITI_KAFKA_PORT"
}

# Creates the missing topics. Asks the broker only once its port accepts connections: the topic
# commands retry for ~23 s against a closed port.
create_topics() {
    local url=$1 existing spec name partitions
    existing=$("$WAQITI_TANSU" topic list --broker "$url") || die "kafka: cannot list topics on $url"
    for spec in "${WAQITI_KAFKA_TOPICS[@]}"; do
        name=${spec%%:*}
        partitions=${spec##*:}
        if grep -qF -- "\"name\":\"$name\"" <<<"$existing"; then
            continue
        fi
        "$WAQITI_TANSU" topic create "$name" --partitions "$partitions" --broker "$url" >/dev/null ||
            die "kafka: cannot create topic $name ($partitions partitions) on $url"
    done
}

start_postgres() {
    local pidfile="$WAQITI_STATE/pids/postgres.pid" logfile="$WAQITI_LOGS/postgres.log"
    local base data password_file="$WAQITI_STATE/postgres/password"
    base=$(postgres_base_dir)
    data="$base/data"
    mkdir -p "$WAQITI_STATE/postgres"
    echo "$base" >"$WAQITI_STATE/postgres/base-dir"

    if pid=$(live_pid "$pidfile"); then
        log "postgres: already running (pid $pid, port $WAQITI_POSTGRES_PORT)"
    else
        [[ -x $WAQITI_PG_BIN/pg_ctl ]] || die "postgres: $WAQITI_PG_BIN/pg_ctl not found; run deploy/local/install.sh"
        require_root "starting PostgreSQL (as the postgres user, through runuser)"
        ensure_port_free_or_ours postgres "$WAQITI_POSTGRES_PORT" "$pidfile" WAQITI_POSTGRES_PORT
        install -d -o postgres -g postgres -m 700 "$base"
        if [[ ! -f $data/PG_VERSION ]]; then
            log "postgres: initdb in $data"
            runuser -u postgres -- "$WAQITI_PG_BIN/initdb" -D "$data" --username=postgres \
                --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C >>"$logfile" 2>&1 ||
                die "postgres: initdb failed; see $logfile"
        fi
        # No -l: the server writes to the log that this (root) shell opened, so the postgres user
        # needs no access to the checkout.
        runuser -u postgres -- "$WAQITI_PG_BIN/pg_ctl" start -D "$data" -w -t 60 -o \
            "-c listen_addresses=127.0.0.1 -c port=$WAQITI_POSTGRES_PORT -c unix_socket_directories=$base" \
            >>"$logfile" 2>&1 </dev/null || die "postgres: pg_ctl start failed; see $logfile"
        head -n1 "$data/postmaster.pid" >"$pidfile"
    fi

    if [[ ! -s $password_file ]]; then
        (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$password_file")
    fi
    ensure_role_and_database "$base" "$(<"$password_file")"
    local url="postgres://$WAQITI_PG_ROLE:$(<"$password_file")@127.0.0.1:$WAQITI_POSTGRES_PORT/$WAQITI_PG_DB"
    wait_until postgres 20 "$logfile" postgres_accepts_login "$url"
    log "postgres: ready on 127.0.0.1:$WAQITI_POSTGRES_PORT (pid $(<"$pidfile"), data $data)"
}

# Role and database, idempotently; the password is (re)set from the state folder each start.
# SQL goes through stdin so the password never shows in a process list.
ensure_role_and_database() {
    local socket_dir=$1 password=$2
    local psql=(runuser -u postgres -- "$WAQITI_PG_BIN/psql" -h "$socket_dir" -p "$WAQITI_POSTGRES_PORT" -X -q -v ON_ERROR_STOP=1 -At)
    "${psql[@]}" -d postgres >/dev/null <<SQL || die "postgres: cannot create role $WAQITI_PG_ROLE"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$WAQITI_PG_ROLE') THEN
    CREATE ROLE $WAQITI_PG_ROLE LOGIN;
  END IF;
END \$\$;
-- CREATEDB: the services' integration tests each migrate a database of their own and drop it.
ALTER ROLE $WAQITI_PG_ROLE WITH LOGIN CREATEDB PASSWORD '$password';
SQL
    if [[ -z $("${psql[@]}" -d postgres <<<"SELECT 1 FROM pg_database WHERE datname = '$WAQITI_PG_DB'") ]]; then
        "${psql[@]}" -d postgres <<<"CREATE DATABASE $WAQITI_PG_DB OWNER $WAQITI_PG_ROLE" ||
            die "postgres: cannot create database $WAQITI_PG_DB"
    fi
}

postgres_accepts_login() {
    [[ $("$WAQITI_PG_BIN/psql" "$1" -X -At -c 'SELECT 1' 2>/dev/null) == 1 ]]
}

main() {
    local target=${1:-all}
    case $target in
    redis) start_redis ;;
    kafka) start_kafka ;;
    postgres) start_postgres ;;
    all)
        start_redis
        start_kafka
        start_postgres
        ;;
    *) die "usage: deploy/local/start.sh [redis|kafka|postgres|all] (got '$target')" ;;
    esac
}

main "$@"
