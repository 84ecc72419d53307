import FraudCore
import Prometheus
import Testing
@testable import Services
import LocalStackSupport

/// Stands in for a wallet whose 402 arrives after a concurrent request with the same
/// Idempotency-Key held the funds and moved the payment to `pending` (funds topped up in between).
struct LateRefusalWallet: WalletClient {
    let store: PaymentStore

    func hold(_ request: HoldRequest) async throws -> HoldAnswer {
        let moved = try await store.markPendingAndEnqueue(request.paymentID, record: OutgoingRecord(topic: "payments", key: request.walletID, value: []))
        precondition(moved, "the payment was expected to be received")
        return .insufficientFunds
    }
}

// Needs PostgreSQL: runs under scripts/test (WAQITI_INTEGRATION=1), skipped loudly otherwise.
@Suite("What the payment service makes of the wallet's answers", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct WalletAnswerTests {
    static func processor(_ wallet: any WalletClient, on database: Database) -> PaymentProcessor {
        PaymentProcessor(store: PaymentStore(database: database), wallet: wallet, paymentsTopic: "payments",
                         metrics: PaymentMetrics(registry: PrometheusCollectorRegistry()), logger: TestDatabase.logger)
    }

    @Test func aRouteNotFoundIsTheWalletUnavailableNotAnUnknownWallet() async throws {
        try await Platform.with { platform in
            let hold = HoldRequest(paymentID: "p-1", walletID: "never-funded", merchantID: "m-1", amount: Money(minorUnits: 100, currency: .usd))
            let wallet = HTTPWalletClient(baseURL: platform.wallet.base, credential: .testKey)
            #expect(try await wallet.hold(hold) == .unknownWallet)
            // `payment.wallet_url` with a proxy prefix the wallet does not serve: its router's 404.
            let misrouted = HTTPWalletClient(baseURL: platform.wallet.base + "/wallet", credential: .testKey)
            await #expect(throws: WalletUnavailable.self) { try await misrouted.hold(hold) }

            try await platform.ledger.topUp(walletID: "acc-m", amount: Money(minorUnits: 5_000, currency: .usd), reference: "t")
            let request = Platform.request(account: "acc-m", amount: 1_000)
            await #expect(throws: SubmitError.self) {
                try await Self.processor(misrouted, on: platform.database).submit(request, idempotencyKey: "k")
            }
            let stored = try await PaymentStore(database: platform.database).fetch(idempotencyKey: "k")
            #expect(stored?.status == .received)
            // Once the URL is corrected, the client's retry resumes the payment.
            let retried = try await Self.processor(wallet, on: platform.database).submit(request, idempotencyKey: "k")
            #expect(retried.record.status == .pending)
        }
    }

    @Test func aRefusalThatLostTheRaceReturnsTheStoredPaymentNotADecline() async throws {
        try await TestDatabase.with { database in
            let processor = Self.processor(LateRefusalWallet(store: PaymentStore(database: database)), on: database)
            let result = try await processor.submit(Platform.request(account: "acc-r", amount: 1_000), idempotencyKey: "k")
            #expect(result.record.status == .pending)
            #expect(result.record.declineReason == nil)
            #expect(try await PaymentStore(database: database).fetch(idempotencyKey: "k")?.status == .pending)
        }
    }
}
