import FraudCore

/// A decision read from `fraud-decisions`, with its message kept verbatim so the payment's
/// record shows exactly what the engine said (reasons, scores, versions).
public struct DecisionEnvelope: Sendable, Equatable {
    public var decision: Decision
    public var raw: [UInt8]

    public var paymentID: String { decision.paymentID }
    public var outcome: Outcome { decision.outcome }
    public var decidedAt: EventTime { decision.decidedAt }

    /// Decodes with FraudCore's DecisionDecoder; a message it refuses is logged and skipped by the
    /// consumers, since one that never parses would otherwise block its partition forever.
    public init(decoding bytes: [UInt8]) throws(DecisionDecodingError) {
        self.decision = try DecisionDecoder().decode(bytes)
        self.raw = bytes
    }
}
