-- Wallet hot paths as server-side functions, so that each is one statement (one round trip) and
-- a wallet's row locks are held for microseconds instead of across several client round trips.
-- Measured before this migration: holds on one wallet queued behind `SELECT … FOR UPDATE` locks
-- kept open by multi-round-trip transactions (a settlement batch held them for its whole batch).
-- The invariants stay where they were: the entry trigger moves balances, the CHECK refuses a
-- negative customer balance, unique keys make every hold, journal and instruction happen once.

-- The id of the (owner, kind, currency) ledger account, created on first use.
CREATE FUNCTION wallet.account_id(p_wallet TEXT, p_kind TEXT, p_currency CHAR(3)) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    found_id BIGINT;
BEGIN
    SELECT id INTO found_id FROM wallet.accounts WHERE wallet_id = p_wallet AND kind = p_kind AND currency = p_currency;
    IF found_id IS NULL THEN
        INSERT INTO wallet.accounts (wallet_id, kind, currency, may_go_negative)
        VALUES (p_wallet, p_kind, p_currency, p_kind = 'funding')
        ON CONFLICT ON CONSTRAINT accounts_one_per_kind DO NOTHING
        RETURNING id INTO found_id;
    END IF;
    IF found_id IS NULL THEN
        -- A concurrent transaction created it between our SELECT and INSERT.
        SELECT id INTO STRICT found_id FROM wallet.accounts WHERE wallet_id = p_wallet AND kind = p_kind AND currency = p_currency;
    END IF;
    RETURN found_id;
END $$;

-- One balanced journal row moving `p_amount` from one account to another; the entry trigger
-- moves the balances (debit first, so the debited account is locked first).
CREATE FUNCTION wallet.post_transfer(p_kind TEXT, p_reference TEXT, p_currency CHAR(3), p_amount BIGINT,
                                     p_from BIGINT, p_to BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    journal BIGINT;
BEGIN
    INSERT INTO wallet.journal (kind, reference, currency, amount_minor)
    VALUES (p_kind, p_reference, p_currency, p_amount) RETURNING id INTO journal;
    INSERT INTO wallet.entries (journal_id, account_id, amount_minor, currency) VALUES (journal, p_from, -p_amount, p_currency);
    INSERT INTO wallet.entries (journal_id, account_id, amount_minor, currency) VALUES (journal, p_to, p_amount, p_currency);
    RETURN journal;
END $$;

-- Places a payment's hold: available → held, idempotent by payment id.
-- result: 'held' (placed now or before), 'captured' / 'released' (an earlier hold, already
-- final), 'mismatch' (the payment id was held with other terms), 'insufficient_funds' (with the
-- available balance), 'unknown_wallet' (no available account in that currency).
CREATE FUNCTION wallet.place_hold(p_payment TEXT, p_wallet TEXT, p_merchant TEXT, p_amount BIGINT, p_currency CHAR(3),
                                  OUT result TEXT, OUT available_minor BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    existing wallet.holds%ROWTYPE;
    available_id BIGINT;
BEGIN
    -- The payer's row lock orders concurrent holds on one wallet; it is taken before the
    -- idempotency check so that a concurrent request for the same payment is seen committed.
    SELECT id, balance_minor INTO available_id, available_minor FROM wallet.accounts
    WHERE wallet_id = p_wallet AND kind = 'available' AND currency = p_currency FOR UPDATE;
    SELECT * INTO existing FROM wallet.holds WHERE payment_id = p_payment;
    IF FOUND THEN
        IF existing.wallet_id <> p_wallet OR existing.merchant_id <> p_merchant
           OR existing.amount_minor <> p_amount OR existing.currency <> p_currency THEN
            result := 'mismatch';
        ELSE
            result := existing.status;
        END IF;
        RETURN;
    END IF;
    IF available_id IS NULL THEN
        result := 'unknown_wallet';
        RETURN;
    END IF;
    IF available_minor < p_amount THEN
        result := 'insufficient_funds';
        RETURN;
    END IF;
    INSERT INTO wallet.holds (payment_id, wallet_id, merchant_id, amount_minor, currency, status)
    VALUES (p_payment, p_wallet, p_merchant, p_amount, p_currency, 'held')
    ON CONFLICT (payment_id) DO NOTHING;
    IF NOT FOUND THEN
        -- The same payment id was held concurrently on another wallet: terms differ by definition.
        result := 'mismatch';
        RETURN;
    END IF;
    PERFORM wallet.post_transfer('hold', p_payment, p_currency, p_amount,
                                 available_id, wallet.account_id(p_wallet, 'held', p_currency));
    result := 'held';
    available_minor := available_minor - p_amount;
END $$;

-- Records a batch of settlement instructions whose effects the caller decided (the policy lives
-- in Swift, SettlementPolicy) from the holds it read and locked in the same transaction, and moves
-- the money of every capture and release. The instructions' primary key makes a concurrent or
-- repeated batch fail as a whole rather than apply twice.
CREATE FUNCTION wallet.record_settlements(p_payment_ids TEXT[], p_sources TEXT[], p_outcomes TEXT[], p_effects TEXT[])
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    hold wallet.holds%ROWTYPE;
    available_id BIGINT;
    held_id BIGINT;
    destination_id BIGINT;
BEGIN
    INSERT INTO wallet.applied_instructions (payment_id, source, outcome, effect)
    SELECT * FROM unnest(p_payment_ids, p_sources, p_outcomes, p_effects);
    FOR i IN 1 .. coalesce(array_length(p_payment_ids, 1), 0) LOOP
        CONTINUE WHEN p_effects[i] NOT IN ('captured', 'released');
        SELECT * INTO STRICT hold FROM wallet.holds WHERE payment_id = p_payment_ids[i];
        -- Lock the wallet's accounts in the order place_hold does (available, then held):
        -- taking held first deadlocks against a concurrent hold on the same wallet.
        available_id := wallet.account_id(hold.wallet_id, 'available', hold.currency);
        PERFORM 1 FROM wallet.accounts WHERE id = available_id FOR UPDATE;
        held_id := wallet.account_id(hold.wallet_id, 'held', hold.currency);
        destination_id := CASE WHEN p_effects[i] = 'captured'
            THEN wallet.account_id(hold.merchant_id, 'merchant', hold.currency) ELSE available_id END;
        PERFORM wallet.post_transfer(CASE WHEN p_effects[i] = 'captured' THEN 'capture' ELSE 'release' END,
                                     hold.payment_id, hold.currency, hold.amount_minor, held_id, destination_id);
        UPDATE wallet.holds SET status = p_effects[i], resolved_at = now() WHERE payment_id = hold.payment_id;
    END LOOP;
END $$;
