-- Wallet: a double-entry ledger. Every journal row moves money between ledger accounts through
-- entries that sum to zero; entries are immutable; balances are maintained by a trigger in the
-- same transaction as the entry, and a CHECK keeps customer balances from ever going negative.
CREATE SCHEMA IF NOT EXISTS wallet;

CREATE TABLE wallet.accounts (
    id              BIGSERIAL PRIMARY KEY,
    -- The owner: a customer's account id, a merchant id, or 'platform' for the funding account.
    wallet_id       TEXT        NOT NULL CHECK (length(wallet_id) BETWEEN 1 AND 128),
    -- available: spendable customer money; held: reserved for an undecided payment;
    -- merchant: captured payments owed to a merchant; funding: the outside world's side of top-ups.
    kind            TEXT        NOT NULL CHECK (kind IN ('available', 'held', 'merchant', 'funding')),
    currency        CHAR(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    balance_minor   BIGINT      NOT NULL DEFAULT 0,
    -- Only the funding account mirrors money that entered the platform and so runs negative.
    may_go_negative BOOLEAN     NOT NULL DEFAULT false,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT accounts_one_per_kind UNIQUE (wallet_id, kind, currency),
    CONSTRAINT accounts_no_negative_balance CHECK (may_go_negative OR balance_minor >= 0),
    CONSTRAINT accounts_only_funding_negative CHECK (NOT may_go_negative OR kind = 'funding')
);

CREATE TABLE wallet.journal (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT        NOT NULL CHECK (kind IN ('topup', 'hold', 'capture', 'release')),
    -- The payment id for hold/capture/release, the client's idempotency key for a top-up.
    reference    TEXT        NOT NULL CHECK (length(reference) BETWEEN 1 AND 128),
    currency     CHAR(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor BIGINT      NOT NULL CHECK (amount_minor > 0),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A payment is held, captured and released at most once each, whatever is redelivered.
    CONSTRAINT journal_once_per_reference UNIQUE (kind, reference)
);

CREATE TABLE wallet.entries (
    id           BIGSERIAL PRIMARY KEY,
    journal_id   BIGINT      NOT NULL REFERENCES wallet.journal (id),
    account_id   BIGINT      NOT NULL REFERENCES wallet.accounts (id),
    -- Positive credits the account's owner, negative debits it.
    amount_minor BIGINT      NOT NULL CHECK (amount_minor <> 0),
    currency     CHAR(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX entries_by_account ON wallet.entries (account_id, id);
CREATE INDEX entries_by_journal ON wallet.entries (journal_id);

-- Ledger history is append-only: corrections are new journal rows, never edits.
CREATE FUNCTION wallet.reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'wallet.% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON wallet.entries
    FOR EACH ROW EXECUTE FUNCTION wallet.reject_mutation();
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON wallet.journal
    FOR EACH ROW EXECUTE FUNCTION wallet.reject_mutation();

-- The balance moves with the entry, in the same transaction, under the account's row lock; the
-- CHECK on accounts then refuses any entry that would take a customer below zero.
CREATE FUNCTION wallet.apply_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account_currency CHAR(3);
BEGIN
    UPDATE wallet.accounts SET balance_minor = balance_minor + NEW.amount_minor
        WHERE id = NEW.account_id RETURNING currency INTO account_currency;
    IF account_currency IS DISTINCT FROM NEW.currency THEN
        RAISE EXCEPTION 'entry in % posted to an account in %', NEW.currency, account_currency
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER entries_apply BEFORE INSERT ON wallet.entries
    FOR EACH ROW EXECUTE FUNCTION wallet.apply_entry();

-- Each journal row balances to zero; checked at commit so that its entries can be inserted one by one.
CREATE FUNCTION wallet.check_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total BIGINT;
BEGIN
    SELECT coalesce(sum(amount_minor), 0) INTO total FROM wallet.entries WHERE journal_id = NEW.journal_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'journal % does not balance: entries sum to %', NEW.journal_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON wallet.entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wallet.check_journal_balanced();

-- One hold per payment; it ends captured or released, exactly once.
CREATE TABLE wallet.holds (
    payment_id   TEXT        PRIMARY KEY CHECK (length(payment_id) BETWEEN 1 AND 128),
    wallet_id    TEXT        NOT NULL,
    merchant_id  TEXT        NOT NULL,
    amount_minor BIGINT      NOT NULL CHECK (amount_minor > 0),
    currency     CHAR(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status       TEXT        NOT NULL CHECK (status IN ('held', 'captured', 'released')),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at  TIMESTAMPTZ,
    CONSTRAINT holds_resolved_when_final CHECK ((status = 'held') = (resolved_at IS NULL))
);
CREATE INDEX holds_by_wallet ON wallet.holds (wallet_id, created_at);

CREATE FUNCTION wallet.check_hold_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'held' OR NEW.status = 'held'
       OR NEW.amount_minor <> OLD.amount_minor OR NEW.currency <> OLD.currency
       OR NEW.wallet_id <> OLD.wallet_id OR NEW.merchant_id <> OLD.merchant_id THEN
        RAISE EXCEPTION 'hold %: % -> % is not allowed', OLD.payment_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER holds_transition BEFORE UPDATE ON wallet.holds
    FOR EACH ROW EXECUTE FUNCTION wallet.check_hold_transition();
CREATE TRIGGER holds_no_delete BEFORE DELETE ON wallet.holds
    FOR EACH ROW EXECUTE FUNCTION wallet.reject_mutation();

-- Decisions and review outcomes the wallet consumed: the primary key makes each one take effect
-- at most once per payment, whatever Kafka redelivers.
CREATE TABLE wallet.applied_instructions (
    payment_id TEXT        NOT NULL,
    source     TEXT        NOT NULL CHECK (source IN ('decision', 'review')),
    outcome    TEXT        NOT NULL CHECK (outcome IN ('approve', 'review', 'decline')),
    -- What it did: captured, released, kept_held, no_hold (nothing was held), already_final.
    effect     TEXT        NOT NULL CHECK (effect IN ('captured', 'released', 'kept_held', 'no_hold', 'already_final')),
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (payment_id, source)
);
