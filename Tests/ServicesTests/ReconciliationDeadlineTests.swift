import FraudCore
import Foundation
import Testing
@testable import Services
import LocalStackSupport

// Needs PostgreSQL: runs under scripts/test (WAQITI_INTEGRATION=1), skipped loudly otherwise.
@Suite("Reconciliation breaks wait for the deadline", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct ReconciliationDeadlineTests {
    /// The wallet and the payment service consume `fraud-decisions` in separate groups: the wallet
    /// may capture an approved payment before the payment service has marked it approved. Such a
    /// capture is a break only once it is older than the deadline (it was reported at once).
    @Test func aCaptureAheadOfItsApprovalIsABreakOnlyAfterTheDeadline() async throws {
        try await Platform.with { platform in
            try await platform.ledger.topUp(walletID: "acc-c", amount: Money(minorUnits: 5_000, currency: .usd), reference: "t")
            let created = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-c", amount: 1_000),
                                                           headers: ["Idempotency-Key": "c1"])
            let id = try #require(created.string("payment_id"))
            // Only the wallet's group has read the approval so far.
            try await platform.walletConsumer.handle(try await platform.decide { _ in .approve })
            #expect(try await platform.payments.get("/api/v1/payments/\(id)").string("status") == "pending")
            #expect(try await TestDatabase.scalar("SELECT status FROM wallet.holds WHERE payment_id = \(id)", as: String.self, in: platform.database) == "captured")

            let reconciler = Reconciler(database: platform.database, deadline: .seconds(60), metrics: nil)
            let young = try await reconciler.report()
            #expect(young.count(.capturedNotApproved) == 0)

            // The same capture a minute and a second later, the payment still not approved. (The
            // hold's transition trigger forbids touching a final hold; this scratch database
            // lifts it to age the capture.)
            try await platform.database.client.query("ALTER TABLE wallet.holds DISABLE TRIGGER holds_transition", logger: TestDatabase.logger)
            try await platform.database.client.query(
                "UPDATE wallet.holds SET resolved_at = resolved_at - interval '61 seconds' WHERE payment_id = \(id)", logger: TestDatabase.logger)
            let old = try await reconciler.report()
            #expect(old.count(.capturedNotApproved) == 1)
            #expect(old.breaks.first { $0.kind == .capturedNotApproved }?.examples == [id])
        }
    }
}
