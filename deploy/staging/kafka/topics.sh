#!/bin/bash
# Creates the platform's topics once (idempotent), with the partition counts of the local stack.
set -euo pipefail
create() {
    /opt/kafka/bin/kafka-topics.sh --bootstrap-server kafka:9092 --create --if-not-exists \
        --topic "$1" --partitions "$2" --replication-factor 1 --config "$3"
}
create payments 6 retention.ms=604800000
create fraud-decisions 6 retention.ms=604800000
create payment-reviews 6 retention.ms=604800000
# Dead letters are kept longer: someone has to look at each one.
create payments-dlq 1 retention.ms=2592000000
