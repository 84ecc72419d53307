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
/// table's CHECK constraint is the backstop should any code path forget. The hot paths (hold,
/// settlement) are server-side functions (0004) so that those locks last one statement.
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
    /// `reference`: repeating it returns the original journal id and moves nothing, also when
    /// the repeat runs concurrently with the original.
    @discardableResult
    public func topUp(walletID: String, amount: Money, reference: String) async throws -> Int64 {
        try Self.check(amount)
        do {
            return try await topUpOnce(walletID: walletID, amount: amount, reference: reference)
        } catch let error where error.sqlState == "23505" && error.constraintName == "journal_once_per_reference" {
            // A top-up with this reference committed between our check and our insert. Its
            // journal is visible now, so a second run answers as a replay (or refuses a mismatch).
            return try await topUpOnce(walletID: walletID, amount: amount, reference: reference)
        }
    }

    private func topUpOnce(walletID: String, amount: Money, reference: String) async throws -> Int64 {
        try await database.transaction { connection in
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
    ///
    /// One statement (`wallet.place_hold`, 0004): the payer's row lock is held for the
    /// function's few microseconds, not across client round trips, so holds on one hot wallet
    /// queue briefly instead of waiting out each other's network latency.
    @discardableResult
    public func hold(_ request: HoldRequest) async throws -> HoldStatus {
        let amount = request.amount
        try Self.check(amount)
        let rows = try await database.client.query("""
            SELECT result, available_minor FROM wallet.place_hold(
                \(request.paymentID), \(request.walletID), \(request.merchantID), \(amount.minorUnits), \(amount.currency.code))
            """, logger: logger)
        for try await (result, available) in rows.decode((String, Int64?).self) {
            if let status = HoldStatus(rawValue: result) { return status }
            switch result {
            case "mismatch":
                throw WalletError.holdMismatch(paymentID: request.paymentID)
            case "insufficient_funds":
                throw WalletError.insufficientFunds(
                    walletID: request.walletID, available: Money(minorUnits: available ?? 0, currency: amount.currency), requested: amount)
            case "unknown_wallet":
                throw WalletError.unknownWallet(walletID: request.walletID, currency: amount.currency)
            default:
                preconditionFailure("wallet.place_hold answered '\(result)', which this version does not know")
            }
        }
        preconditionFailure("wallet.place_hold returned no row")
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
    ///
    /// Three statements per batch whatever its size: read the batch's earlier instructions, read
    /// and lock its holds, then record every new instruction and move its money
    /// (`wallet.record_settlements`). The policy is decided here, instruction by instruction in
    /// batch order, so a decision and a review outcome for one payment in one batch see each other.
    public func settle(_ instructions: [SettlementInstruction]) async throws -> [AppliedSettlement] {
        guard !instructions.isEmpty else { return [] }
        let paymentIDs = Array(Set(instructions.map(\.paymentID))).sorted()
        return try await database.transaction { connection in
            var earlier: [InstructionKey: SettlementEffect] = [:]
            for try await (payment, source, effect) in try await connection.query("""
                SELECT payment_id, source, effect FROM wallet.applied_instructions WHERE payment_id = ANY(\(paymentIDs))
                """, logger: logger).decode((String, String, String).self) {
                guard let source = InstructionSource(rawValue: source) else { continue }
                earlier[InstructionKey(paymentID: payment, source: source)] = SettlementEffect(rawValue: effect) ?? .alreadyFinal
            }
            var holds: [String: HoldStatus] = [:]
            for try await (payment, status) in try await connection.query("""
                SELECT payment_id, status FROM wallet.holds WHERE payment_id = ANY(\(paymentIDs)) ORDER BY payment_id FOR UPDATE
                """, logger: logger).decode((String, String).self) {
                holds[payment] = HoldStatus(rawValue: status)
            }
            var applied: [AppliedSettlement] = []
            applied.reserveCapacity(instructions.count)
            var new = (payments: [String](), sources: [String](), outcomes: [String](), effects: [String]())
            for instruction in instructions {
                let key = InstructionKey(paymentID: instruction.paymentID, source: instruction.source)
                if let effect = earlier[key] {
                    applied.append(AppliedSettlement(effect: effect, redelivered: true))
                    continue
                }
                let effect = SettlementPolicy.effect(of: instruction.outcome, on: holds[instruction.paymentID])
                earlier[key] = effect
                if effect == .captured { holds[instruction.paymentID] = .captured }
                if effect == .released { holds[instruction.paymentID] = .released }
                new.payments.append(instruction.paymentID)
                new.sources.append(instruction.source.rawValue)
                new.outcomes.append(instruction.outcome.rawValue)
                new.effects.append(effect.rawValue)
                applied.append(AppliedSettlement(effect: effect, redelivered: false))
            }
            if !new.payments.isEmpty {
                // Read to the end: the function's errors (a concurrent batch's instructions, a
                // deadlock, a ledger invariant) arrive with its row, after the query returned.
                _ = try await connection.query("""
                    SELECT wallet.record_settlements(\(new.payments), \(new.sources), \(new.outcomes), \(new.effects))
                    """, logger: logger).collect()
            }
            return applied
        }
    }

    private struct InstructionKey: Hashable {
        var paymentID: String
        var source: InstructionSource
    }

    // MARK: Building blocks

    /// The HTTP layer's rule (`MoneyField.amountProblem`) for direct callers too: above
    /// `Money.maximumMinorUnits` one movement could push the funding account's running balance
    /// past a 64-bit integer, and every later top-up fail.
    private static func check(_ amount: Money) throws {
        guard MoneyField.amountProblem(amount.minorUnits) == nil else { throw WalletError.invalidAmount(amount.minorUnits) }
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
