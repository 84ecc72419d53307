import FraudCore
import Logging
import PostgresNIO

/// A request to reserve a payment's amount in the payer's wallet.
public struct HoldRequest: Sendable, Hashable {
    public var paymentID: String
    public var walletID: String
    public var merchantID: String
    public var amount: Money

    public init(paymentID: String, walletID: String, merchantID: String, amount: Money) {
        self.paymentID = paymentID
        self.walletID = walletID
        self.merchantID = merchantID
        self.amount = amount
    }
}

/// The wallet's double-entry ledger in PostgreSQL (schema `wallet`, see 0001_wallet_ledger.sql).
///
/// Every money movement is one journal row plus entries that sum to zero, written in one
/// transaction. The available account is locked (`FOR UPDATE`) before it is checked and debited,
/// so concurrent holds on one wallet serialize and the last one that does not fit is refused; the
/// table's CHECK constraint is the backstop should any code path forget.
public struct WalletLedger: Sendable {
    let database: Database
    var logger: Logger { database.logger }

    /// The funding account's owner: the platform's side of every top-up.
    static let platformWallet = "platform"

    public init(database: Database) {
        self.database = database
    }

    // MARK: Top-up

    /// Credits `amount` to the wallet from the platform's funding account. Idempotent by
    /// `reference`: repeating it returns the original journal id and moves nothing.
    @discardableResult
    public func topUp(walletID: String, amount: Money, reference: String) async throws -> Int64 {
        guard amount.minorUnits > 0 else { throw WalletError.invalidAmount(amount.minorUnits) }
        return try await database.transaction { connection in
            if let existing = try await existingJournal(kind: "topup", reference: reference, on: connection) {
                guard existing.amount == amount, try await journalCredits(existing.id, walletID: walletID, on: connection) else {
                    throw WalletError.topUpMismatch(reference: reference)
                }
                return existing.id
            }
            let funding = try await ensureAccount(wallet: Self.platformWallet, kind: "funding", currency: amount.currency, on: connection)
            let available = try await ensureAccount(wallet: walletID, kind: "available", currency: amount.currency, on: connection)
            return try await post(kind: "topup", reference: reference, amount: amount,
                                  legs: [(funding, -amount.minorUnits), (available, amount.minorUnits)], on: connection)
        }
    }

    // MARK: Hold

    /// Moves the payment's amount from available to held. Idempotent by payment id: a repeat
    /// returns the existing hold's status; a repeat with different terms is refused.
    @discardableResult
    public func hold(_ request: HoldRequest) async throws -> HoldStatus {
        guard request.amount.minorUnits > 0 else { throw WalletError.invalidAmount(request.amount.minorUnits) }
        do {
            return try await database.transaction { connection in try await hold(request, on: connection) }
        } catch where error.sqlState == PostgresError.Code.uniqueViolation.raw {
            // A concurrent request for the same payment won the insert; answer with its result.
            return try await database.transaction { connection in try await hold(request, on: connection) }
        }
    }

    private func hold(_ request: HoldRequest, on connection: PostgresConnection) async throws -> HoldStatus {
        let amount = request.amount
        if let existing = try await existingHold(request.paymentID, on: connection) {
            guard existing.request == request else { throw WalletError.holdMismatch(paymentID: request.paymentID) }
            return existing.status
        }
        let rows = try await connection.query("""
            SELECT id, balance_minor FROM wallet.accounts
            WHERE wallet_id = \(request.walletID) AND kind = 'available' AND currency = \(amount.currency.code)
            FOR UPDATE
            """, logger: logger)
        var locked: (id: Int64, balance: Int64)?
        for try await row in rows.decode((Int64, Int64).self) { locked = (row.0, row.1) }
        guard let available = locked else {
            throw WalletError.unknownWallet(walletID: request.walletID, currency: amount.currency)
        }
        guard available.balance >= amount.minorUnits else {
            throw WalletError.insufficientFunds(
                walletID: request.walletID,
                available: Money(minorUnits: available.balance, currency: amount.currency), requested: amount)
        }
        let held = try await ensureAccount(wallet: request.walletID, kind: "held", currency: amount.currency, on: connection)
        try await connection.query("""
            INSERT INTO wallet.holds (payment_id, wallet_id, merchant_id, amount_minor, currency, status)
            VALUES (\(request.paymentID), \(request.walletID), \(request.merchantID), \(amount.minorUnits), \(amount.currency.code), 'held')
            """, logger: logger)
        try await post(kind: "hold", reference: request.paymentID, amount: amount,
                       legs: [(available.id, -amount.minorUnits), (held, amount.minorUnits)], on: connection)
        return .held
    }

    // MARK: Settlement

    /// Applies decisions and review outcomes in one transaction, each at most once per
    /// (payment, source): the `applied_instructions` primary key, not memory, is what makes a
    /// redelivered batch a no-op. Returns one effect per instruction, in order; a redelivered
    /// instruction reports the effect it had the first time.
    public func apply(_ instructions: [SettlementInstruction]) async throws -> [SettlementEffect] {
        try await settle(instructions).map(\.effect)
    }

    /// `apply`, also telling which instructions had been applied before (redeliveries), for the
    /// consumer's metrics.
    public func settle(_ instructions: [SettlementInstruction]) async throws -> [AppliedSettlement] {
        guard !instructions.isEmpty else { return [] }
        return try await database.transaction { connection in
            var applied: [AppliedSettlement] = []
            applied.reserveCapacity(instructions.count)
            for instruction in instructions {
                applied.append(try await apply(instruction, on: connection))
            }
            return applied
        }
    }

    private func apply(_ instruction: SettlementInstruction, on connection: PostgresConnection) async throws -> AppliedSettlement {
        let previous = try await connection.query("""
            SELECT effect FROM wallet.applied_instructions
            WHERE payment_id = \(instruction.paymentID) AND source = \(instruction.source.rawValue)
            """, logger: logger)
        for try await effect in previous.decode(String.self) {
            return AppliedSettlement(effect: SettlementEffect(rawValue: effect) ?? .alreadyFinal, redelivered: true)
        }
        return AppliedSettlement(effect: try await applyFirstTime(instruction, on: connection), redelivered: false)
    }

    private func applyFirstTime(_ instruction: SettlementInstruction, on connection: PostgresConnection) async throws -> SettlementEffect {
        let hold = try await existingHold(instruction.paymentID, forUpdate: true, on: connection)
        let effect = SettlementPolicy.effect(of: instruction.outcome, on: hold?.status)
        // Inserted before the money moves and without ON CONFLICT: if another consumer raced us
        // here, this fails with a unique violation and the whole batch rolls back and retries.
        try await connection.query("""
            INSERT INTO wallet.applied_instructions (payment_id, source, outcome, effect)
            VALUES (\(instruction.paymentID), \(instruction.source.rawValue), \(instruction.outcome.rawValue), \(effect.rawValue))
            """, logger: logger)
        guard let hold, effect == .captured || effect == .released else { return effect }
        let amount = hold.request.amount
        // Lock the wallet's accounts in the order `hold` does (available, then held): a settlement
        // batch taking held first deadlocks against a concurrent hold on the same wallet.
        let available = try await ensureAccount(wallet: hold.request.walletID, kind: "available", currency: amount.currency, on: connection)
        try await connection.query("SELECT 1 FROM wallet.accounts WHERE id = \(available) FOR UPDATE", logger: logger)
        let heldAccount = try await ensureAccount(wallet: hold.request.walletID, kind: "held", currency: amount.currency, on: connection)
        let destination = effect == .captured
            ? try await ensureAccount(wallet: hold.request.merchantID, kind: "merchant", currency: amount.currency, on: connection)
            : try await ensureAccount(wallet: hold.request.walletID, kind: "available", currency: amount.currency, on: connection)
        try await post(kind: effect == .captured ? "capture" : "release", reference: instruction.paymentID, amount: amount,
                       legs: [(heldAccount, -amount.minorUnits), (destination, amount.minorUnits)], on: connection)
        let status = effect == .captured ? HoldStatus.captured : .released
        try await connection.query("""
            UPDATE wallet.holds SET status = \(status.rawValue), resolved_at = now() WHERE payment_id = \(instruction.paymentID)
            """, logger: logger)
        return effect
    }

    // MARK: Building blocks

    struct StoredHold {
        var request: HoldRequest
        var status: HoldStatus
    }

    private func existingHold(_ paymentID: String, forUpdate: Bool = false, on connection: PostgresConnection) async throws -> StoredHold? {
        let query: PostgresQuery = forUpdate
            ? "SELECT wallet_id, merchant_id, amount_minor, currency, status FROM wallet.holds WHERE payment_id = \(paymentID) FOR UPDATE"
            : "SELECT wallet_id, merchant_id, amount_minor, currency, status FROM wallet.holds WHERE payment_id = \(paymentID)"
        for try await (wallet, merchant, minor, code, status) in try await connection.query(query, logger: logger)
            .decode((String, String, Int64, String, String).self) {
            guard let currency = Currency(code), let status = HoldStatus(rawValue: status) else { continue }
            return StoredHold(
                request: HoldRequest(paymentID: paymentID, walletID: wallet, merchantID: merchant,
                                     amount: Money(minorUnits: minor, currency: currency)),
                status: status)
        }
        return nil
    }

    private func existingJournal(kind: String, reference: String, on connection: PostgresConnection) async throws -> (id: Int64, amount: Money)? {
        for try await (id, minor, code) in try await connection.query("""
            SELECT id, amount_minor, currency FROM wallet.journal WHERE kind = \(kind) AND reference = \(reference)
            """, logger: logger).decode((Int64, Int64, String).self) {
            guard let currency = Currency(code) else { continue }
            return (id, Money(minorUnits: minor, currency: currency))
        }
        return nil
    }

    private func journalCredits(_ journalID: Int64, walletID: String, on connection: PostgresConnection) async throws -> Bool {
        for try await _ in try await connection.query("""
            SELECT 1 FROM wallet.entries e JOIN wallet.accounts a ON a.id = e.account_id
            WHERE e.journal_id = \(journalID) AND a.wallet_id = \(walletID) AND e.amount_minor > 0
            """, logger: logger) {
            return true
        }
        return false
    }

    /// The id of the (wallet, kind, currency) ledger account, creating it on first use.
    func ensureAccount(wallet: String, kind: String, currency: Currency, on connection: PostgresConnection) async throws -> Int64 {
        let mayGoNegative = kind == "funding"
        try await connection.query("""
            INSERT INTO wallet.accounts (wallet_id, kind, currency, may_go_negative)
            VALUES (\(wallet), \(kind), \(currency.code), \(mayGoNegative))
            ON CONFLICT ON CONSTRAINT accounts_one_per_kind DO NOTHING
            """, logger: logger)
        for try await id in try await connection.query("""
            SELECT id FROM wallet.accounts WHERE wallet_id = \(wallet) AND kind = \(kind) AND currency = \(currency.code)
            """, logger: logger).decode(Int64.self) {
            return id
        }
        preconditionFailure("account (\(wallet), \(kind), \(currency)) vanished inside its own transaction")
    }

    /// Writes one balanced journal row and its entries; the entry trigger moves the balances.
    @discardableResult
    func post(kind: String, reference: String, amount: Money, legs: [(account: Int64, minor: Int64)],
              on connection: PostgresConnection) async throws -> Int64 {
        precondition(legs.reduce(0) { $0 + $1.minor } == 0, "journal legs must sum to zero")
        var journalID: Int64 = 0
        for try await id in try await connection.query("""
            INSERT INTO wallet.journal (kind, reference, currency, amount_minor)
            VALUES (\(kind), \(reference), \(amount.currency.code), \(amount.minorUnits)) RETURNING id
            """, logger: logger).decode(Int64.self) {
            journalID = id
        }
        for leg in legs {
            try await connection.query("""
                INSERT INTO wallet.entries (journal_id, account_id, amount_minor, currency)
                VALUES (\(journalID), \(leg.account), \(leg.minor), \(amount.currency.code))
                """, logger: logger)
        }
        return journalID
    }
}
