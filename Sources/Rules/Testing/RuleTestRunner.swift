import Features
import FraudCore

/// Runs rule test cases against a rule set with a real feature store: every case gets a fresh
/// store, its events go through in order, and the last event's verdict is compared.
public struct RuleTestRunner: Sendable {
    public let ruleSet: RuleSet
    /// A fresh, empty store per case.
    public let makeStore: @Sendable (ExchangeRates) -> any FeatureStore

    public init(ruleSet: RuleSet, makeStore: @escaping @Sendable (ExchangeRates) -> any FeatureStore) {
        self.ruleSet = ruleSet
        self.makeStore = makeStore
    }

    public struct Result: Sendable {
        public var name: String
        public var verdict: RuleVerdict
        public var expected: Expectation
        /// Human-readable differences; empty when the case passed.
        public var differences: [String]

        public var passed: Bool { differences.isEmpty }
    }

    public func run(_ testCase: RuleTestCase) async throws -> Result {
        let store = makeStore(ruleSet.rates)
        var features: [Double] = []
        _ = try await store.process(testCase.events, plan: ruleSet.featurePlan, mode: .update, into: &features)
        var scores = [Double](repeating: .nan, count: testCase.events.count)
        scores[scores.count - 1] = testCase.modelScore
        let verdict = ruleSet.evaluate(events: testCase.events, features: features, featureCount: ruleSet.featurePlan.count, modelScores: scores).last!
        return Result(name: testCase.name, verdict: verdict, expected: testCase.expect, differences: RuleTestRunner.compare(verdict, testCase.expect))
    }

    static func compare(_ verdict: RuleVerdict, _ expect: Expectation) -> [String] {
        var out: [String] = []
        if verdict.outcome != expect.decision {
            out.append("decision: expected \(expect.decision.rawValue), got \(verdict.outcome.rawValue)\(verdict.decidedBy.map { " (by \($0))" } ?? "")")
        }
        let live = verdict.liveReasons.map(\.rule)
        if let reasons = expect.reasons, reasons != live {
            out.append("reasons: expected \(list(reasons)), got \(list(live))\(delta(reasons, live))")
        }
        let shadow = verdict.shadowReasons.map(\.rule)
        if let expected = expect.shadow, expected != shadow {
            out.append("shadow: expected \(list(expected)), got \(list(shadow))\(delta(expected, shadow))")
        }
        if let points = expect.risk_points, points != verdict.riskPoints {
            out.append("risk_points: expected \(points), got \(verdict.riskPoints)")
        }
        return out
    }

    private static func list(_ names: [String]) -> String { "[\(names.joined(separator: ", "))]" }

    private static func delta(_ expected: [String], _ got: [String]) -> String {
        let missing = expected.filter { !got.contains($0) }, extra = got.filter { !expected.contains($0) }
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing \(list(missing))") }
        if !extra.isEmpty { parts.append("unexpected \(list(extra))") }
        return parts.isEmpty ? " (order differs)" : " — " + parts.joined(separator: ", ")
    }

    /// What each matched rule read, for failure output: `card_testing: count(card_fingerprint,10m)=4, amount=1.00 USD`.
    public static func explain(_ verdict: RuleVerdict) -> [String] {
        verdict.reasons.map { reason in
            let values = reason.values.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
            return "\(reason.rule)\(reason.shadow ? " (shadow)" : ""): \(reason.action.rawValue)\(reason.points != 0 ? " \(reason.points > 0 ? "+" : "")\(reason.points)" : "")\(values.isEmpty ? "" : " [\(values)]")\(reason.message.map { " \"\($0)\"" } ?? "")"
        }
    }
}
