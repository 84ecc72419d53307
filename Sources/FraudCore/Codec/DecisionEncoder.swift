/// Writes decisions in their JSON wire form (docs/formats.md), the message the engine publishes on
/// `fraud-decisions` and the platform services consume. Keys in fixed order, no whitespace.
public struct DecisionEncoder: Sendable {
    /// Adds `event_fingerprint` (the decision cache's form in Redis, docs/formats.md); never on
    /// the topic, where a redelivery's decision must be the same bytes as the first.
    public let includesFingerprint: Bool

    public init(includesFingerprint: Bool = false) {
        self.includesFingerprint = includesFingerprint
    }

    public func append(_ decision: Decision, to out: inout [UInt8]) {
        JSONWriter.raw("{\"payment_id\":", to: &out)
        JSONWriter.string(decision.paymentID, to: &out)
        JSONWriter.raw(",\"decision\":", to: &out)
        JSONWriter.string(decision.outcome.rawValue, to: &out)
        JSONWriter.raw(",\"model_score\":", to: &out)
        JSONWriter.double(decision.modelScore, to: &out)
        JSONWriter.raw(",\"risk_points\":", to: &out)
        JSONWriter.integer(Int64(decision.riskPoints), to: &out)
        JSONWriter.raw(",\"reasons\":[", to: &out)
        for (index, reason) in decision.reasons.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(reason, to: &out)
        }
        JSONWriter.raw("],\"rules_version\":", to: &out)
        JSONWriter.string(decision.rulesVersion, to: &out)
        JSONWriter.raw(",\"model_version\":", to: &out)
        JSONWriter.string(decision.modelVersion, to: &out)
        JSONWriter.raw(",\"features_degraded\":", to: &out)
        JSONWriter.bool(decision.featuresDegraded, to: &out)
        JSONWriter.raw(",\"event_time\":", to: &out)
        JSONWriter.time(decision.eventTime, to: &out)
        JSONWriter.raw(",\"decided_at\":", to: &out)
        JSONWriter.time(decision.decidedAt, to: &out)
        JSONWriter.raw(",\"latency_us\":", to: &out)
        JSONWriter.integer(decision.latencyMicros, to: &out)
        if includesFingerprint, let fingerprint = decision.eventFingerprint {
            JSONWriter.raw(",\"event_fingerprint\":\"", to: &out)
            LowercaseHex.append(fingerprint, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
    }

    public func encode(_ decision: Decision) -> [UInt8] {
        var out = [UInt8]()
        // Decisions with the default rules and model are 598 to 2,760 bytes, 96% of them under
        // 1,024 (a replay of 306,025 simulated payments): one allocation for most.
        out.reserveCapacity(1024)
        append(decision, to: &out)
        return out
    }

    private func append(_ reason: Reason, to out: inout [UInt8]) {
        switch reason {
        case .rule(let rule):
            JSONWriter.raw("{\"type\":\"rule\",\"rule\":", to: &out)
            JSONWriter.string(rule.rule, to: &out)
            JSONWriter.raw(",\"action\":", to: &out)
            JSONWriter.string(rule.action.rawValue, to: &out)
            JSONWriter.raw(",\"points\":", to: &out)
            JSONWriter.integer(Int64(rule.points), to: &out)
            JSONWriter.raw(",\"shadow\":", to: &out)
            JSONWriter.bool(rule.shadow, to: &out)
            JSONWriter.raw(",\"values\":{", to: &out)
            for (index, named) in rule.values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.string(named.name, to: &out)
                out.append(UInt8(ascii: ":"))
                Self.append(named.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
            if let message = rule.message {
                JSONWriter.raw(",\"message\":", to: &out)
                JSONWriter.string(message, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .model(let contribution):
            JSONWriter.raw("{\"type\":\"model\",\"feature\":", to: &out)
            JSONWriter.string(contribution.feature, to: &out)
            JSONWriter.raw(",\"value\":", to: &out)
            JSONWriter.double(contribution.value, to: &out)
            JSONWriter.raw(",\"contribution\":", to: &out)
            JSONWriter.double(contribution.contribution, to: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A feature or field value: null for missing (and for NaN or infinite doubles, which JSON
    /// cannot carry), integers without a fraction, doubles in shortest round-trip form, money as
    /// an object of integer minor units and currency.
    static func append(_ value: Value, to out: inout [UInt8]) {
        switch value {
        case .missing: JSONWriter.raw("null", to: &out)
        case .bool(let b): JSONWriter.bool(b, to: &out)
        case .int(let i): JSONWriter.integer(i, to: &out)
        case .double(let d): JSONWriter.double(d, to: &out)
        case .string(let s): JSONWriter.string(s, to: &out)
        case .money(let m):
            JSONWriter.raw("{\"amount_minor\":", to: &out)
            JSONWriter.integer(m.minorUnits, to: &out)
            JSONWriter.raw(",\"currency\":", to: &out)
            JSONWriter.string(m.currency.code, to: &out)
            out.append(UInt8(ascii: "}"))
        }
    }
}
