import FraudCore
import Replay
import Simulation

/// Hand-built events and decisions for tests whose expected numbers are computed by hand.
enum Fixtures {
    static let start = EventTime(millisecondsSinceEpoch: 1_767_225_600_000)  // 2026-01-01T00:00:00Z

    static func event(
        _ id: String, minute: Int64 = 0, label: Label? = nil, scenario: String? = nil,
        amount: Int64 = 1_000, currency: Currency = .usd
    ) -> PaymentEvent {
        PaymentEvent(
            paymentID: id, occurredAt: start + .minutes(minute), accountID: "acct-1", cardFingerprint: "card-1",
            deviceID: "dev-1", ip: "10.0.0.1", merchantID: "m-1", mcc: "5411",
            amount: Money(minorUnits: amount, currency: currency), cardCountry: "US", ipCountry: "US",
            channel: .ecom, type: .payment, metadata: scenario.map { ["scenario": $0] } ?? [:], label: label
        )
    }

    static func decision(
        _ event: PaymentEvent, _ outcome: Outcome, score: Double = 0, points: Int = 0,
        rules: [String] = [], shadow: [String] = [], model: String = "model-1", rulesVersion: String = "rules-1"
    ) -> Decision {
        let reasons = rules.map { Reason.rule(RuleReason(rule: $0, action: .decline, points: 10, shadow: false, values: [])) }
            + shadow.map { Reason.rule(RuleReason(rule: $0, action: .review, points: 0, shadow: true, values: [])) }
        return Decision(
            paymentID: event.paymentID, outcome: outcome, modelScore: score, riskPoints: points, reasons: reasons,
            rulesVersion: rulesVersion, modelVersion: model, featuresDegraded: false,
            eventTime: event.occurredAt, decidedAt: event.occurredAt, latencyMicros: 0
        )
    }

    /// The simulator's fixed-seed generator, for table-driven property checks.
    typealias SplitMix = SimulationRandom
}
