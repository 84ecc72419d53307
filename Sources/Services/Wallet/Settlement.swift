import FraudCore

/// Where a settlement instruction came from: the engine's decision, or an analyst's review.
public enum InstructionSource: String, Sendable, Hashable, CaseIterable {
    case decision, review
}

/// The life of a hold: created `held`, then exactly one of `captured` or `released`.
public enum HoldStatus: String, Sendable, Hashable, CaseIterable {
    case held, captured, released

    public var isFinal: Bool { self != .held }
}

/// What applying one instruction did to the ledger; stored with the instruction so that a
/// redelivery can be answered without touching money again.
public enum SettlementEffect: String, Sendable, Hashable, CaseIterable {
    /// Held funds moved to the merchant.
    case captured
    /// Held funds returned to the customer's available balance.
    case released
    /// A `review` decision: the money stays held until the review is resolved.
    case keptHeld = "kept_held"
    /// No hold exists for the payment (declined for funds before it reached the engine, or a
    /// decision for a payment the platform never took); nothing to move.
    case noHold = "no_hold"
    /// The hold was already captured or released by an earlier instruction.
    case alreadyFinal = "already_final"
}

/// What one instruction did, and whether it had already been applied (a redelivered record).
public struct AppliedSettlement: Sendable, Hashable {
    public var effect: SettlementEffect
    public var redelivered: Bool
}

/// An instruction to settle one payment's hold, from a decision or a resolved review.
public struct SettlementInstruction: Sendable, Hashable {
    public var paymentID: String
    public var outcome: Outcome
    public var source: InstructionSource

    public init(paymentID: String, outcome: Outcome, source: InstructionSource) {
        self.paymentID = paymentID
        self.outcome = outcome
        self.source = source
    }
}

/// The wallet's settlement policy, free of I/O so that every case is unit-tested.
public enum SettlementPolicy {
    /// What an instruction does to a hold in `status` (nil when there is no hold).
    ///
    /// Approve captures, decline releases, review keeps the money held; a final hold is never
    /// touched again, so a late or conflicting instruction cannot move money twice.
    public static func effect(of outcome: Outcome, on status: HoldStatus?) -> SettlementEffect {
        guard let status else { return .noHold }
        guard !status.isFinal else { return .alreadyFinal }
        switch outcome {
        case .approve: return .captured
        case .decline: return .released
        case .review: return .keptHeld
        }
    }
}
