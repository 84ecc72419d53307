import FraudCore
import PostgresNIO
import Testing
@testable import Services
import LocalStackSupport

// Needs PostgreSQL: runs under scripts/test (WAQITI_INTEGRATION=1), skipped loudly otherwise.
@Suite("Wallet ledger (PostgreSQL)", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct WalletLedgerTests {
    static func usd(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: .usd) }

    @Test func migratingTwiceAppliesNothingTheSecondTime() async throws {
        try await TestDatabase.with { database in
            let again = try await Migrator(database: database, migrations: try Migration.bundled()).migrate()
            #expect(again == [])
            let recorded = try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM public.waqiti_schema_migrations", as: Int64.self, in: database)
            #expect(recorded == Int64(try Migration.bundled().count))
        }
    }

    @Test func holdThenCaptureMovesMoneyToTheMerchantAndTheLedgerSumsToZero() async throws {
        try await TestDatabase.with { database in
            let ledger = WalletLedger(database: database)
            try await ledger.topUp(walletID: "acc-1", amount: Self.usd(10_000), reference: "topup-1")
            #expect(try await ledger.hold(HoldRequest(paymentID: "p1", walletID: "acc-1", merchantID: "m-1", amount: Self.usd(2_550))) == .held)
            #expect(try await ledger.hold(HoldRequest(paymentID: "p2", walletID: "acc-1", merchantID: "m-1", amount: Self.usd(1_000))) == .held)
            let effects = try await ledger.apply([
                SettlementInstruction(paymentID: "p1", outcome: .approve, source: .decision),
                SettlementInstruction(paymentID: "p2", outcome: .decline, source: .decision),
            ])
            #expect(effects == [.captured, .released])
            let view = try #require(try await ledger.view(walletID: "acc-1"))
            #expect(view.balances == [.init(currency: "USD", availableMinor: 7_450, heldMinor: 0)])
            #expect(view.entries.map(\.kind) == ["release", "release", "capture", "hold", "hold", "hold", "hold", "topup"])
            #expect(try await Self.merchantBalance("m-1", in: database) == 2_550)
            #expect(try await Self.ledgerTotal(in: database) == 0)
            #expect(try await Self.accountsMatchEntries(in: database))
        }
    }

    @Test func redeliveredInstructionsMoveMoneyOnce() async throws {
        try await TestDatabase.with { database in
            let ledger = WalletLedger(database: database)
            try await ledger.topUp(walletID: "acc-1", amount: Self.usd(5_000), reference: "t")
            try await ledger.hold(HoldRequest(paymentID: "p1", walletID: "acc-1", merchantID: "m", amount: Self.usd(1_200)))
            try await ledger.hold(HoldRequest(paymentID: "p2", walletID: "acc-1", merchantID: "m", amount: Self.usd(800)))
            let batch = [
                SettlementInstruction(paymentID: "p1", outcome: .approve, source: .decision),
                SettlementInstruction(paymentID: "p2", outcome: .review, source: .decision),
            ]
            #expect(try await ledger.apply(batch) == [.captured, .keptHeld])
            // The consumer crashed before committing its offsets: the same batch comes again.
            #expect(try await ledger.apply(batch) == [.captured, .keptHeld])
            // A conflicting second decision for p1 must not release money already captured.
            #expect(try await ledger.apply([SettlementInstruction(paymentID: "p1", outcome: .decline, source: .review)]) == [.alreadyFinal])
            #expect(try await ledger.apply([SettlementInstruction(paymentID: "p2", outcome: .approve, source: .review)]) == [.captured])
            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM wallet.journal WHERE kind = 'capture'", as: Int64.self, in: database) == 2)
            #expect(try await Self.merchantBalance("m", in: database) == 2_000)
            let view = try #require(try await ledger.view(walletID: "acc-1"))
            #expect(view.balances == [.init(currency: "USD", availableMinor: 3_000, heldMinor: 0)])
            #expect(try await Self.ledgerTotal(in: database) == 0)
        }
    }

    @Test func fiftyConcurrentHoldsAgainstFundsForTenHoldExactlyTen() async throws {
        try await TestDatabase.with { database in
            let ledger = WalletLedger(database: database)
            try await ledger.topUp(walletID: "acc-c", amount: Self.usd(10 * 1_999), reference: "t")
            let results = await withTaskGroup(of: Result<HoldStatus, WalletError>.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        do {
                            return .success(try await ledger.hold(HoldRequest(paymentID: "c\(i)", walletID: "acc-c", merchantID: "m", amount: Self.usd(1_999))))
                        } catch let error as WalletError {
                            return .failure(error)
                        } catch {
                            Issue.record("unexpected \(error)")
                            return .failure(.invalidAmount(-1))
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let held = results.filter { if case .success(.held) = $0 { true } else { false } }.count
            let refused = results.filter { if case .failure(.insufficientFunds) = $0 { true } else { false } }.count
            #expect(held == 10)
            #expect(refused == 40)
            let effects = try await ledger.apply((0..<50).map { SettlementInstruction(paymentID: "c\($0)", outcome: .approve, source: .decision) })
            #expect(effects.filter { $0 == .captured }.count == 10)
            #expect(effects.filter { $0 == .noHold }.count == 40)
            let view = try #require(try await ledger.view(walletID: "acc-c"))
            #expect(view.balances == [.init(currency: "USD", availableMinor: 0, heldMinor: 0)])
            #expect(try await Self.merchantBalance("m", in: database) == 19_990)
            #expect(try await Self.ledgerTotal(in: database) == 0)
        }
    }

    @Test func holdIsIdempotentByPaymentAndRefusesDifferentTerms() async throws {
        try await TestDatabase.with { database in
            let ledger = WalletLedger(database: database)
            try await ledger.topUp(walletID: "a", amount: Self.usd(1_000), reference: "t")
            let request = HoldRequest(paymentID: "p", walletID: "a", merchantID: "m", amount: Self.usd(600))
            #expect(try await ledger.hold(request) == .held)
            #expect(try await ledger.hold(request) == .held)
            var changed = request
            changed.amount = Self.usd(601)
            await #expect(throws: WalletError.holdMismatch(paymentID: "p")) { try await ledger.hold(changed) }
            await #expect(throws: WalletError.insufficientFunds(walletID: "a", available: Self.usd(400), requested: Self.usd(500))) {
                try await ledger.hold(HoldRequest(paymentID: "q", walletID: "a", merchantID: "m", amount: Self.usd(500)))
            }
            await #expect(throws: WalletError.unknownWallet(walletID: "a", currency: .eur)) {
                try await ledger.hold(HoldRequest(paymentID: "r", walletID: "a", merchantID: "m", amount: Money(minorUnits: 1, currency: .eur)))
            }
            #expect(try await ledger.view(walletID: "a")?.balances == [.init(currency: "USD", availableMinor: 400, heldMinor: 600)])
            // Top-ups are idempotent by reference too.
            try await ledger.topUp(walletID: "a", amount: Self.usd(1_000), reference: "t")
            #expect(try await ledger.view(walletID: "a")?.balances.first?.availableMinor == 400)
        }
    }

    @Test func concurrentTopUpsWithOneReferenceCreditOnceAndAllAnswerItsJournal() async throws {
        try await TestDatabase.with { database in
            let ledger = WalletLedger(database: database)
            // All pass the existing-journal check before any commits; the losers hit the
            // (kind, reference) unique constraint and must answer as a replay does.
            let journals = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await ledger.topUp(walletID: "acc-t", amount: Self.usd(1_000), reference: "same") }
                }
                return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
            }
            #expect(journals.count == 1)
            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM wallet.journal WHERE kind = 'topup'", as: Int64.self, in: database) == 1)
            #expect(try await ledger.view(walletID: "acc-t")?.balances == [.init(currency: "USD", availableMinor: 1_000, heldMinor: 0)])
            #expect(try await Self.ledgerTotal(in: database) == 0)
            // Reusing the reference with other terms is still refused.
            await #expect(throws: WalletError.topUpMismatch(reference: "same")) {
                try await ledger.topUp(walletID: "acc-t", amount: Self.usd(1_001), reference: "same")
            }
        }
    }

    @Test func amountsAboveTheLimitAreRefusedBeforeTheyReachTheLedger() async throws {
        try await TestDatabase.with { database in
            let ledger = WalletLedger(database: database)
            let limit = Money.maximumMinorUnits
            try await ledger.topUp(walletID: "acc-l", amount: Self.usd(limit), reference: "at-limit")
            await #expect(throws: WalletError.invalidAmount(limit + 1)) {
                try await ledger.topUp(walletID: "acc-l", amount: Self.usd(limit + 1), reference: "above")
            }
            await #expect(throws: WalletError.invalidAmount(Int64.max)) {
                try await ledger.hold(HoldRequest(paymentID: "p", walletID: "acc-l", merchantID: "m", amount: Self.usd(Int64.max)))
            }
            #expect(try await ledger.view(walletID: "acc-l")?.balances.first?.availableMinor == limit)
        }
    }

    @Test func theDatabaseRefusesNegativeBalancesAndEditsToHistory() async throws {
        try await TestDatabase.with { database in
            let ledger = WalletLedger(database: database)
            try await ledger.topUp(walletID: "a", amount: Self.usd(100), reference: "t")
            // Bypass the ledger's own check: the CHECK constraint must still refuse the overdraft.
            let overdraft = await #expect(throws: PSQLError.self) {
                try await database.transaction { connection in
                    let available = try await ledger.ensureAccount(wallet: "a", kind: "available", currency: .usd, on: connection)
                    let held = try await ledger.ensureAccount(wallet: "a", kind: "held", currency: .usd, on: connection)
                    try await ledger.post(kind: "hold", reference: "x", amount: Self.usd(101), legs: [(available, -101), (held, 101)], on: connection)
                }
            }
            #expect(overdraft?.constraintName == "accounts_no_negative_balance")
            let edit = await #expect(throws: PSQLError.self) {
                try await database.client.query("UPDATE wallet.entries SET amount_minor = 1", logger: TestDatabase.logger)
            }
            #expect(edit?.serverInfo?[.message] == "wallet.entries is append-only: UPDATE is not allowed")
            #expect(try await ledger.view(walletID: "a")?.balances.first?.availableMinor == 100)
        }
    }

    static func merchantBalance(_ merchant: String, in database: Database) async throws -> Int64? {
        try await TestDatabase.scalar("SELECT balance_minor FROM wallet.accounts WHERE wallet_id = \(merchant) AND kind = 'merchant'", as: Int64.self, in: database)
    }

    static func ledgerTotal(in database: Database) async throws -> Int64? {
        try await TestDatabase.scalar("SELECT coalesce(sum(amount_minor), 0)::BIGINT FROM wallet.entries", as: Int64.self, in: database)
    }

    static func accountsMatchEntries(in database: Database) async throws -> Bool {
        let mismatched = try await TestDatabase.scalar("""
            SELECT count(*)::BIGINT FROM wallet.accounts a
            WHERE a.balance_minor <> (SELECT coalesce(sum(e.amount_minor), 0) FROM wallet.entries e WHERE e.account_id = a.id)
            """, as: Int64.self, in: database)
        return mismatched == 0
    }
}
