import FraudCore
import Foundation
import Prometheus
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

    /// A payment the engine never decides (it refused the event, or its decision was lost before
    /// the payment service applied it) stayed `pending` with its funds held, and no check saw it:
    /// the engine's refusal also kept it out of `recon.payment_events`.
    @Test func aPaymentPendingPastTheDeadlineIsABreakAndAGauge() async throws {
        try await Platform.with { platform in
            try await platform.ledger.topUp(walletID: "acc-p", amount: Money(minorUnits: 5_000, currency: .usd), reference: "t")
            var ids: [String] = []
            for key in ["p1", "p2"] {
                let created = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-p", amount: 1_000),
                                                               headers: ["Idempotency-Key": key])
                ids.append(try #require(created.string("payment_id")))
            }
            // p1 is decided; p2's event is published but nothing ever answers it.
            let decisions = try await platform.decide { _ in .approve }
            try await platform.deliver(decisions.filter { String(decoding: $0.key ?? [], as: UTF8.self) == ids[0] })
            #expect(try await platform.payments.get("/api/v1/payments/\(ids[1])").string("status") == "pending")

            let registry = PrometheusCollectorRegistry()
            let reconciler = Reconciler(database: platform.database, deadline: .seconds(60), metrics: ReconciliationMetrics(registry: registry))
            #expect(try await reconciler.report().count(.pendingWithoutDecision) == 0)

            try await platform.database.client.query(
                "UPDATE payments.payments SET updated_at = updated_at - interval '61 seconds' WHERE payment_id = ANY(\(ids))",
                logger: TestDatabase.logger)
            let old = try await reconciler.report()
            #expect(old.count(.pendingWithoutDecision) == 1)
            #expect(old.breaks.first { $0.kind == .pendingWithoutDecision }?.examples == [ids[1]])
            var exported: [UInt8] = []
            registry.emit(into: &exported)
            #expect(String(decoding: exported, as: UTF8.self).contains(#"waqiti_reconciliation_breaks{kind="pending_without_decision"} 1"#))
        }
    }
}
