# Source this (`source deploy/local/env.sh`) to talk to the local stack: exports the service URLs,
# topic names and the library path that puts the newer librdkafka runtime first.
# Ports come from deploy/local/lib.sh (16379 Redis, 19092 Kafka, 15432 PostgreSQL) unless
# WAQITI_REDIS_PORT / WAQITI_KAFKA_PORT / WAQITI_POSTGRES_PORT are set before sourcing.
# shellcheck shell=bash

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export WAQITI_REDIS_PORT WAQITI_KAFKA_PORT WAQITI_POSTGRES_PORT
export WAQITI_REDIS_URL="redis://127.0.0.1:$WAQITI_REDIS_PORT/0"
export WAQITI_KAFKA_BROKERS="127.0.0.1:$WAQITI_KAFKA_PORT"
export WAQITI_KAFKA_PAYMENTS_TOPIC="payments"
export WAQITI_KAFKA_DECISIONS_TOPIC="fraud-decisions"
export WAQITI_KAFKA_DLQ_TOPIC="payments-dlq"

# The password is generated at PostgreSQL's first start, into the state folder (never the repo).
if [[ -s $WAQITI_STATE/postgres/password ]]; then
    export WAQITI_POSTGRES_URL="postgres://$WAQITI_PG_ROLE:$(<"$WAQITI_STATE/postgres/password")@127.0.0.1:$WAQITI_POSTGRES_PORT/$WAQITI_PG_DB"
else
    unset WAQITI_POSTGRES_URL
    log "env.sh: WAQITI_POSTGRES_URL not set: PostgreSQL has not been started yet (deploy/local/start.sh postgres)"
fi

# librdkafka.so.1 in this folder is 2.16 (from the pinned wheel); Debian's 2.0.2 cannot talk to Tansu.
case ":${LD_LIBRARY_PATH:-}:" in
*":$WAQITI_RDKAFKA_LIBDIR:"*) ;;
*) export LD_LIBRARY_PATH="$WAQITI_RDKAFKA_LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
esac
