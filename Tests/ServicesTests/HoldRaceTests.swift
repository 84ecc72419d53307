import FraudCore
import Foundation
import Prometheus
import Testing
@testable import Services
import LocalStackSupport

/// A one-way door a test opens once; every `wait` before or after returns once it is open.
actor Gate {
    private var isOpen = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func open() {
        isOpen = true
        for continuation in waiting { continuation.resume() }
        waiting = []
    }

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiting.append($0) }
    }
}

/// The real wallet over HTTP, with its answers held back so that two attempts at one payment
/// interleave in a chosen order: attempt A's answer comes back only after attempt B's wallet
/// request has been answered, and B's only after A has finished.
struct InterleavedWallet: WalletClient {
    let wallet: any WalletClient
    let aAnswered = Gate()
    let bAnswered = Gate()
    let aFinished = Gate()
    private let calls = CallCounter()

    func hold(_ request: HoldRequest) async throws -> HoldAnswer {
        let call = await calls.next()
        let answer = try await wallet.hold(request)
        switch call {
        case 0:
            await aAnswered.open()
            await bAnswered.wait()
        case 1:
            await bAnswered.open()
            await aFinished.wait()
        default:
            break
        }
        return answer
    }

    actor CallCounter {
        private var count = 0
        func next() -> Int {
            defer { count += 1 }
            return count
        }
    }
}

// Needs PostgreSQL: runs under scripts/test (WAQITI_INTEGRATION=1), skipped loudly otherwise.
@Suite("A payment declined for its hold never has one", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct HoldRaceTests {
    /// Attempt A is refused for funds; money arrives; attempt B (the client's retry under the same
    /// Idempotency-Key, or the PaymentResumer: the same path) asks again; then A declines the
    /// payment. B's hold was placed and stayed held for good, the payment declined. Now the
    /// wallet's refusal is final for that payment: B is refused too and nothing is held.
    @Test func aRetryAfterARefusalAndATopUpHoldsNothingForTheDeclinedPayment() async throws {
        try await Platform.with { platform in
            try await platform.ledger.topUp(walletID: "acc-race", amount: Money(minorUnits: 100, currency: .usd), reference: "t0")
            let store = PaymentStore(database: platform.database)
            let wallet = InterleavedWallet(wallet: HTTPWalletClient(baseURL: platform.wallet.base, credential: .testKey, timeout: .seconds(60)))
            let processor = PaymentProcessor(store: store, wallet: wallet, paymentsTopic: "payments",
                                             metrics: PaymentMetrics(registry: PrometheusCollectorRegistry()), logger: TestDatabase.logger)
            let request = Platform.request(account: "acc-race", amount: 1_000)

            async let attemptA = processor.submit(request, idempotencyKey: "race")
            await wallet.aAnswered.wait()
            try await platform.ledger.topUp(walletID: "acc-race", amount: Money(minorUnits: 5_000, currency: .usd), reference: "t1")
            async let attemptB = processor.submit(request, idempotencyKey: "race")
            let a = try await attemptA
            await wallet.aFinished.open()
            let b = try await attemptB

            #expect(a.record.status == .declined)
            #expect(a.record.declineReason == .insufficientFunds)
            #expect(b.record.paymentID == a.record.paymentID)
            #expect(b.record.status == .declined)
            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM wallet.holds", as: Int64.self, in: platform.database) == 0)
            #expect(try await platform.ledger.view(walletID: "acc-race")?.balances == [.init(currency: "USD", availableMinor: 5_100, heldMinor: 0)])
            #expect(try await platform.publishedPayments().isEmpty)
            #expect(try await platform.reconciler.report().totalBreaks == 0)
        }
    }

    @Test func theWalletsRefusalOfAPaymentIsFinal() async throws {
        try await TestDatabase.with { database in
            let ledger = WalletLedger(database: database)
            let usd = { (minor: Int64) in Money(minorUnits: minor, currency: .usd) }
            try await ledger.topUp(walletID: "w", amount: usd(100), reference: "t0")
            let hold = HoldRequest(paymentID: "p", walletID: "w", merchantID: "m", amount: usd(300))
            let refused = await #expect(throws: WalletError.self) { try await ledger.hold(hold) }
            #expect(refused == .insufficientFunds(walletID: "w", available: usd(100), requested: usd(300)))
            try await ledger.topUp(walletID: "w", amount: usd(1_000), reference: "t1")
            // The same refusal, with the balance it saw, however much arrived since.
            let again = await #expect(throws: WalletError.self) { try await ledger.hold(hold) }
            #expect(again == refused)
            var other = hold
            other.amount = usd(200)
            let mismatch = await #expect(throws: WalletError.self) { try await ledger.hold(other) }
            #expect(mismatch == .holdMismatch(paymentID: "p"))
            // Another payment is held from the new balance.
            #expect(try await ledger.hold(HoldRequest(paymentID: "q", walletID: "w", merchantID: "m", amount: usd(300))) == .held)

            // A wallet unknown when asked stays unknown to that payment once it is funded.
            let unknown = HoldRequest(paymentID: "u", walletID: "new", merchantID: "m", amount: usd(50))
            let first = await #expect(throws: WalletError.self) { try await ledger.hold(unknown) }
            #expect(first == .unknownWallet(walletID: "new", currency: .usd))
            try await ledger.topUp(walletID: "new", amount: usd(500), reference: "t2")
            let second = await #expect(throws: WalletError.self) { try await ledger.hold(unknown) }
            #expect(second == first)
            #expect(try await ledger.view(walletID: "new")?.balances.first?.heldMinor == 0)
        }
    }
}
