import FraudCore

/// Where a payment is in its life. `received` → `pending` → `approved` | `declined` | `in_review`,
/// and `in_review` → `approved` | `declined`; a payment the wallet cannot fund goes straight from
/// `received` to `declined`.
public enum PaymentStatus: String, Sendable, Codable, CaseIterable {
    /// Stored; funds not yet held or the event not yet published.
    case received
    /// Funds held and the event published; waiting for the engine.
    case pending
    case approved
    case declined
    case inReview = "in_review"

    /// The status a decision moves an undecided payment to.
    public static func after(_ outcome: Outcome) -> PaymentStatus {
        switch outcome {
        case .approve: .approved
        case .decline: .declined
        case .review: .inReview
        }
    }

    /// Whether the engine's decision may still change this payment: only before it was decided,
    /// so a redelivered or conflicting decision never overrides the first one or an analyst.
    public var acceptsDecision: Bool { self == .received || self == .pending }
}

/// Why a payment was declined.
public enum DeclineReason: String, Sendable, Codable, CaseIterable {
    /// The engine declined it.
    case fraud
    /// An analyst declined it after review.
    case review
    /// The wallet could not hold the amount.
    case insufficientFunds = "insufficient_funds"
    /// The payer has no wallet in the payment's currency.
    case unknownWallet = "unknown_wallet"
}
