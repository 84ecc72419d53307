import FraudCore
import Testing
@testable import Features

/// A rules reload changes the feature plan: the windows of key fields whose features did not change
/// survive, the others start afresh (docs/features.md, "Plan changes").
enum PlanChange {
    static let before = FeaturePlan([try! FeatureSpec(parsing: "count(card_fingerprint, 1h)"), try! FeatureSpec(parsing: "count(account_id, 1h)")])
    static let after = FeaturePlan([try! FeatureSpec(parsing: "count(card_fingerprint, 1h)"), try! FeatureSpec(parsing: "sum(amount_minor, account_id, 1h)")])
    static let later = FeaturePlan([try! FeatureSpec(parsing: "count(card_fingerprint, 1h)"), try! FeatureSpec(parsing: "max(amount_minor, account_id, 1h)")])

    /// (plan, event, expected row): the card count carries on across both reloads; the account
    /// windows restart at each one, because the account features changed.
    static let steps: [(FeaturePlan, PaymentEvent, [Double])] = [
        (before, payment("p1", at: 0, amount: 100), [1, 1]),
        (before, payment("p2", at: 10, amount: 200), [2, 2]),
        (after, payment("p3", at: 20, amount: 300), [3, 300]),
        (after, payment("p4", at: 30, amount: 400), [4, 700]),
        (later, payment("p5", at: 40, amount: 50), [5, 50]),
    ]

    static func run(_ process: (PaymentEvent, FeaturePlan) throws -> [Double]) rethrows -> [[Double]] {
        try steps.map { plan, event, _ in try process(event, plan) }
    }
}

@Suite("Plan changes, in memory")
struct InMemoryPlanChangeTests {
    @Test("A reload keeps the windows of unchanged key fields and restarts the others")
    func keepsUnchangedKeys() throws {
        let store = InMemoryFeatureStore(configuration: .init(shardCount: 3))
        var out: [Double] = []
        let rows = PlanChange.run { event, plan in
            _ = store.processSync([event], plan: plan, mode: .update, into: &out)
            return out
        }
        #expect(rows == PlanChange.steps.map(\.2))
    }

    @Test("A reload to a shorter horizon expires what the new plan would not have kept")
    func shorterHorizonExpires() throws {
        let long = FeaturePlan([try FeatureSpec(parsing: "count(card_fingerprint, 10m)"), try FeatureSpec(parsing: "count(account_id, 24h)")])
        let short = FeaturePlan([try FeatureSpec(parsing: "count(card_fingerprint, 10m)"), try FeatureSpec(parsing: "count(account_id, 1h)")])
        let store = InMemoryFeatureStore()
        var out: [Double] = []
        _ = store.processSync([payment("p1", at: 0), payment("p2", at: 7200)], plan: long, mode: .update, into: &out)
        #expect(store.statistics().entries == 4)  // card: p1, p2 (retention 24h05m); account: p1, p2
        _ = store.processSync([payment("p3", at: 7201)], plan: short, mode: .update, into: &out)
        // The card windows survive with retention 1h05m now: p1 (2 h old) is gone; the account restarted.
        #expect(out == [2, 1])
        #expect(store.statistics().entries == 3)
    }
}
