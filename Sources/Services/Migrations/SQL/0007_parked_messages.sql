-- Records a platform consumer (ConsumerLoop) cannot apply for good: a value the database refuses
-- (ConsumerFailure: SQLSTATE classes 22, 23 but 23505, 44, 54, P0), a message the handler cannot
-- decode, or an unclassified failure that came back unchanged too many times in a row. A record
-- is parked before its offset is committed, so the topic moves on and nothing it held is lost;
-- the unique key makes a redelivery park it once. docs/services.md shows how to inspect and
-- replay them. Its own schema: the table belongs to the three services' consumers alike.
CREATE SCHEMA IF NOT EXISTS platform;
CREATE TABLE platform.parked_messages (
    id              BIGSERIAL   PRIMARY KEY,
    -- The consumer loop's name: wallet-settlement, payment-decisions, reconciliation-topics.
    consumer        TEXT        NOT NULL CHECK (length(consumer) BETWEEN 1 AND 128),
    topic           TEXT        NOT NULL CHECK (length(topic) BETWEEN 1 AND 249),
    kafka_partition INTEGER     NOT NULL CHECK (kafka_partition >= 0),
    kafka_offset    BIGINT      NOT NULL CHECK (kafka_offset >= 0),
    -- Bytes as they were on the topic: a poison record may be text PostgreSQL cannot store.
    message_key     BYTEA,
    payload         BYTEA       NOT NULL,
    -- refused: by the database (sqlstate set); undecodable: by the handler's decoder;
    -- repeated: an unclassified failure, the same each time (sqlstate set if it had one).
    failure         TEXT        NOT NULL CHECK (failure IN ('refused', 'undecodable', 'repeated')),
    sqlstate        TEXT        CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
    error           TEXT        NOT NULL,
    parked_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set once the record was applied after all or settled by hand; resolution says how.
    resolved_at     TIMESTAMPTZ,
    resolution      TEXT,
    CONSTRAINT parked_once UNIQUE (consumer, topic, kafka_partition, kafka_offset),
    CONSTRAINT parked_refused_has_sqlstate CHECK (failure <> 'refused' OR sqlstate IS NOT NULL),
    CONSTRAINT parked_undecodable_has_none CHECK (failure <> 'undecodable' OR sqlstate IS NULL),
    CONSTRAINT parked_resolution_when_resolved CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);
CREATE INDEX parked_messages_unresolved ON platform.parked_messages (parked_at) WHERE resolved_at IS NULL;
