-- The wallet's first answer to a payment's hold is final, refusals included.
--
-- Before, only a placed hold was remembered. Two attempts for one payment (a client's retry under
-- the same Idempotency-Key, or the payment service's PaymentResumer) could get different answers:
-- attempt A was refused for funds, money arrived, attempt B's hold was placed, then A declined the
-- payment before B could move it to pending, and B's hold stayed held with nothing to settle it.
-- Now a refusal is recorded under the payment id and every later request for that payment gets
-- the same refusal, so a payment declined for its hold never has one.

CREATE TABLE wallet.hold_refusals (
    payment_id      TEXT        PRIMARY KEY CHECK (length(payment_id) BETWEEN 1 AND 128),
    wallet_id       TEXT        NOT NULL,
    merchant_id     TEXT        NOT NULL,
    amount_minor    BIGINT      NOT NULL,
    currency        CHAR(3)     NOT NULL,
    reason          TEXT        NOT NULL CHECK (reason IN ('insufficient_funds', 'unknown_wallet')),
    -- The available balance the refusal saw (what the 402 reports); null for an unknown wallet.
    available_minor BIGINT,
    refused_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER hold_refusals_append_only BEFORE UPDATE OR DELETE ON wallet.hold_refusals
    FOR EACH ROW EXECUTE FUNCTION wallet.reject_mutation();

-- As in 0004, plus: one request per payment at a time (a transaction-scoped advisory lock on the
-- payment id, taken first: the payer's row lock alone does not order two requests when the wallet
-- has no account yet), and a refusal is recorded and then answered again to every later request.
-- result: 'held' (placed now or before), 'captured' / 'released' (an earlier hold, already final),
-- 'mismatch' (the payment id was held or refused with other terms), 'insufficient_funds' (with the
-- available balance it saw), 'unknown_wallet' (no available account in that currency).
CREATE OR REPLACE FUNCTION wallet.place_hold(p_payment TEXT, p_wallet TEXT, p_merchant TEXT, p_amount BIGINT, p_currency CHAR(3),
                                             OUT result TEXT, OUT available_minor BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    earlier RECORD;
    available_id BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('wallet.place_hold ' || p_payment, 0));
    -- The payer's row lock orders concurrent holds on one wallet.
    SELECT id, balance_minor INTO available_id, available_minor FROM wallet.accounts
    WHERE wallet_id = p_wallet AND kind = 'available' AND currency = p_currency FOR UPDATE;
    -- The earlier answer for this payment, a hold or a refusal (at most one exists).
    SELECT * INTO earlier FROM (
        SELECT wallet_id, merchant_id, amount_minor, currency, status AS answer, NULL::BIGINT AS seen_available
        FROM wallet.holds WHERE payment_id = p_payment
        UNION ALL
        SELECT r.wallet_id, r.merchant_id, r.amount_minor, r.currency, r.reason, r.available_minor
        FROM wallet.hold_refusals r WHERE r.payment_id = p_payment) answers;
    IF FOUND THEN
        IF earlier.wallet_id <> p_wallet OR earlier.merchant_id <> p_merchant
           OR earlier.amount_minor <> p_amount OR earlier.currency <> p_currency THEN
            result := 'mismatch';
        ELSE
            result := earlier.answer;
            -- A refusal reports the balance it saw; a hold, the balance now.
            available_minor := coalesce(earlier.seen_available, available_minor);
        END IF;
        RETURN;
    END IF;
    IF available_id IS NULL OR available_minor < p_amount THEN
        result := CASE WHEN available_id IS NULL THEN 'unknown_wallet' ELSE 'insufficient_funds' END;
        INSERT INTO wallet.hold_refusals (payment_id, wallet_id, merchant_id, amount_minor, currency, reason, available_minor)
        VALUES (p_payment, p_wallet, p_merchant, p_amount, p_currency, result, available_minor);
        RETURN;
    END IF;
    INSERT INTO wallet.holds (payment_id, wallet_id, merchant_id, amount_minor, currency, status)
    VALUES (p_payment, p_wallet, p_merchant, p_amount, p_currency, 'held')
    ON CONFLICT (payment_id) DO NOTHING;
    IF NOT FOUND THEN
        -- Not reached under the payment's advisory lock; a conflict would mean other terms.
        result := 'mismatch';
        RETURN;
    END IF;
    PERFORM wallet.post_transfer('hold', p_payment, p_currency, p_amount,
                                 available_id, wallet.account_id(p_wallet, 'held', p_currency));
    result := 'held';
    available_minor := available_minor - p_amount;
END $$;
