-- Payment service: one row per accepted payment request, keyed by the client's Idempotency-Key.
CREATE SCHEMA IF NOT EXISTS payments;

CREATE TABLE payments.payments (
    payment_id       TEXT        PRIMARY KEY,
    idempotency_key  TEXT        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    -- SHA-256 of the canonical request: the same key with a different body is refused, not merged.
    request_hash     TEXT        NOT NULL,
    account_id       TEXT        NOT NULL,
    card_fingerprint TEXT        NOT NULL,
    device_id        TEXT        NOT NULL,
    ip               TEXT        NOT NULL,
    merchant_id      TEXT        NOT NULL,
    mcc              CHAR(4)     NOT NULL,
    amount_minor     BIGINT      NOT NULL CHECK (amount_minor > 0),
    currency         CHAR(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    card_country     CHAR(2)     NOT NULL,
    ip_country       CHAR(2)     NOT NULL,
    channel          TEXT        NOT NULL,
    type             TEXT        NOT NULL,
    beneficiary_id   TEXT,
    metadata         JSONB       NOT NULL DEFAULT '{}',
    occurred_at      TIMESTAMPTZ NOT NULL,
    -- received: stored, funds not yet held; pending: held and published, awaiting the engine;
    -- then approved / declined / in_review, and in_review ends approved or declined.
    status           TEXT        NOT NULL CHECK (status IN ('received', 'pending', 'approved', 'declined', 'in_review')),
    -- fraud, insufficient_funds, review, wallet_unknown: why a payment was declined.
    decline_reason   TEXT,
    decision         JSONB,
    decided_at       TIMESTAMPTZ,
    published_at     TIMESTAMPTZ,
    reviewer         TEXT,
    review_note      TEXT,
    reviewed_at      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payments_one_per_idempotency_key UNIQUE (idempotency_key),
    CONSTRAINT payments_decline_has_reason CHECK ((status = 'declined') = (decline_reason IS NOT NULL))
);
CREATE INDEX payments_in_review ON payments.payments (created_at) WHERE status = 'in_review';
CREATE INDEX payments_undecided ON payments.payments (created_at) WHERE status IN ('received', 'pending');
