-- Reconciliation: what it saw on the topics, and the reports it wrote.
CREATE SCHEMA IF NOT EXISTS recon;

CREATE TABLE recon.payment_events (
    payment_id   TEXT        PRIMARY KEY,
    account_id   TEXT        NOT NULL,
    amount_minor BIGINT      NOT NULL,
    currency     CHAR(3)     NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    seen_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every distinct decision seen for a payment: the same payment decided twice with different
-- outcomes is two rows, which is exactly the break the report looks for.
CREATE TABLE recon.decisions (
    payment_id TEXT        NOT NULL,
    outcome    TEXT        NOT NULL CHECK (outcome IN ('approve', 'review', 'decline')),
    decided_at TIMESTAMPTZ NOT NULL,
    seen_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (payment_id, outcome)
);

CREATE TABLE recon.reports (
    id           BIGSERIAL PRIMARY KEY,
    generated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    breaks       INTEGER     NOT NULL,
    report       JSONB       NOT NULL
);
