-- Transactional outbox for the payment service's publications to `payments`: the row that moves
-- a payment to `pending` and the outbox row are written by one statement, so a payment is pending
-- exactly when its event is owed to the broker. The relay (OutboxRelay) publishes unsent rows,
-- oldest first, and marks them sent only after the broker acknowledged them: a crash in between
-- publishes them again (at least once; the engine de-duplicates by payment id).
CREATE TABLE payments.outbox (
    id         BIGSERIAL   PRIMARY KEY,
    payment_id TEXT        NOT NULL REFERENCES payments.payments (payment_id),
    topic      TEXT        NOT NULL CHECK (length(topic) BETWEEN 1 AND 249),
    key        TEXT        NOT NULL,
    value      BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at    TIMESTAMPTZ,
    -- One publication per payment and topic, whatever a retried request does.
    CONSTRAINT outbox_once_per_payment UNIQUE (payment_id, topic)
);
CREATE INDEX outbox_unsent ON payments.outbox (id) WHERE sent_at IS NULL;
