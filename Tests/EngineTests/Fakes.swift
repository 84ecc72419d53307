import Engine
import Foundation
import Model
import Rules
import Features
import FraudCore
import Synchronization
import Testing

/// Test double of a feature store: `count(KEY, …)` is the number of distinct payments seen per key
/// (windows ignored); every other feature reads 0. Records every call; can be made unavailable.
final class CountingStore: FeatureStore {
    struct Call: Equatable {
        var paymentIDs: [String]
        var features: [String]
        var mode: StoreMode
    }

    private struct State {
        var seen: [String: Set<String>] = [:]
        var calls: [Call] = []
        var unavailable = false
        var failuresLeft = 0
        var failedCalls = 0
        var pings = 0
        var attempts = 0
    }

    private let state = Mutex(State())

    var calls: [Call] { state.withLock { $0.calls } }
    func setUnavailable(_ value: Bool) { state.withLock { $0.unavailable = value } }
    /// The next `count` calls fail as unavailable (a timeout, a dropped connection); later ones work.
    func failNext(_ count: Int) { state.withLock { $0.failuresLeft = count } }
    /// Calls that failed because of `failNext`.
    var failedCalls: Int { state.withLock { $0.failedCalls } }
    /// `process` calls so far, failed ones included.
    var attempts: Int { state.withLock { $0.attempts } }
    /// `ping` calls so far (not in `calls`).
    var pings: Int { state.withLock { $0.pings } }

    /// Answers unless the store is unavailable (`failNext` fails the work, not the ping: Redis
    /// that answers `PING` and times out a batch).
    func ping() async -> Bool {
        state.withLock { state in
            state.pings += 1
            return !state.unavailable
        }
    }

    func process(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) async throws -> BatchReport {
        try state.withLock { state in
            state.attempts += 1
            if state.unavailable { throw FeatureStoreError.unavailable("connection refused") }
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                state.failedCalls += 1
                throw FeatureStoreError.unavailable("timed out")
            }
            state.calls.append(Call(paymentIDs: events.map(\.paymentID), features: plan.features.map(\.canonicalName), mode: mode))
            var report = BatchReport()
            var values: [Double] = []
            for event in events {
                var counted = false
                for feature in plan.features {
                    let key = "\(feature.key.name)=\(feature.key.string(of: event) ?? "")"
                    if mode == .update {
                        let (inserted, _) = state.seen[key, default: []].insert(event.paymentID)
                        if !inserted, !counted { report.duplicates += 1; counted = true }
                    }
                    let count = state.seen[key]?.count ?? 0
                    values.append(feature.kind == .count ? Double(mode == .readOnly ? count + 1 : count) : 0)
                }
            }
            out = values
            return report
        }
    }
}

/// The rules the engine tests decide with (real DSL, compiled by the Rules module).
let testRulesText = """
version "test-1"
rule card_velocity: decline +50 if count(card_fingerprint, 10m) >= 3
rule large_amount: review +20 if amount > 1000.00 USD
shadow rule watch_everything: review if true
"""

func compileTestRules(_ text: String = testRulesText, basePlan: FeaturePlan = FeaturePlan()) throws -> RuleSet {
    try RuleSet.compile(RulesSource(path: "test.rules", text: text) { _ in [] }, basePlan: basePlan)
}

/// A one-feature model: logit = count(card_fingerprint,10m) − 2, so the score is sigmoid(count − 2).
func compileTestModel(plan: inout FeaturePlan) throws -> CompiledModel {
    let time = EventTime(millisecondsSinceEpoch: 0)
    let model = LogisticModel(
        name: "velocity",
        features: [ModelFeature(expression: "count(card_fingerprint,10m)", weight: 1, mean: 0, std: 1, clipLower: 0, clipUpper: 100)],
        bias: -2,
        training: TrainingSummary(
            input: "test", trainRows: 1, validationRows: 1, fraudRate: 0.5, trainFrom: time, trainTo: time,
            validationFrom: time, validationTo: time, seed: 1, l2: 0, classWeight: .none, iterations: 1, stopReason: "test"
        ),
        evaluation: EvaluationSummary(rows: 1, aucROC: 1, aucPR: 1, logLoss: 0)
    )
    return try CompiledModel(model: model, path: "test-model.json", plan: &plan)
}

func sigmoid(_ x: Double) -> Double { 1 / (1 + (-x).exp) }

extension Double {
    var exp: Double { Foundation.exp(self) }
}

/// A thread-safe slot tests swap to simulate a hot reload.
final class Swappable<Value: Sendable>: Sendable {
    private let slot: Mutex<Value>
    init(_ value: Value) { slot = Mutex(value) }
    var value: Value {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}

func payment(_ id: String, card: String = "card-1", account: String = "acct-1", minor: Int64 = 5_000, currency: Currency = .usd, at ms: Int64 = 1_764_403_200_000) -> PaymentEvent {
    PaymentEvent(
        paymentID: id, occurredAt: EventTime(millisecondsSinceEpoch: ms), accountID: account, cardFingerprint: card,
        deviceID: "dev-1", ip: "203.0.113.7", merchantID: "m-1", mcc: "5411", amount: Money(minorUnits: minor, currency: currency),
        cardCountry: "US", ipCountry: "US", channel: .ecom, type: .payment
    )
}

/// Waits until `condition` holds, checking every 5 ms; fails the test after `timeout`.
func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
