/// What the reconciliation service found: every kind of break with its count and examples, plus
/// settlement totals. Zero breaks means every payment, decision and ledger entry agrees.
public struct ReconciliationReport: Sendable, Equatable, Codable {
    /// One kind of disagreement between the topics, the payment service and the ledger.
    public enum BreakKind: String, Sendable, Codable, CaseIterable {
        /// A payment on `payments` with no decision after the deadline.
        case paymentWithoutDecision = "payment_without_decision"
        /// A payment the payment service still holds `pending` after the deadline: funds held,
        /// its event owed to or published for the engine, and no decision applied (the relay
        /// cannot publish it, the engine refused or lost it, or its decision was not consumed).
        case pendingWithoutDecision = "pending_without_decision"
        /// A decision for a payment that never appeared on `payments`.
        case decisionWithoutPayment = "decision_without_payment"
        /// The same payment decided more than once with different outcomes.
        case conflictingDecisions = "conflicting_decisions"
        /// Approved (by the engine or a reviewer) but the wallet has not captured it.
        case approvedNotCaptured = "approved_not_captured"
        /// Captured by the wallet although the payment is still not approved after the deadline.
        case capturedNotApproved = "captured_not_approved"
        /// Funds still held after the deadline for a payment that no decision will settle: the
        /// payment is still `received` (its hold answered too late and the client never
        /// retried), was declined (a hold placed before the wallet's refusals became final,
        /// migration 0006), or is unknown to the payment service.
        case heldWithoutOpenPayment = "held_without_open_payment"
        /// A journal entry set, an account or a currency whose entries do not sum as they must.
        case ledgerImbalance = "ledger_imbalance"
    }

    public struct Break: Sendable, Equatable, Codable {
        public var kind: BreakKind
        public var count: Int
        /// Up to `exampleLimit` payment ids (or ledger subjects) that show the break.
        public var examples: [String]
    }

    /// Captured money per currency and UTC day.
    public struct Settlement: Sendable, Equatable, Codable {
        public var day: String
        public var currency: String
        public var captures: Int
        public var totalMinor: Int64

        enum CodingKeys: String, CodingKey {
            case day, currency, captures, totalMinor = "total_minor"
        }
    }

    public var generatedAt: String
    public var deadlineSeconds: Double
    public var paymentsSeen: Int
    public var decisionsSeen: Int
    public var totalBreaks: Int
    /// One entry per kind, in `BreakKind` order, zeros included.
    public var breaks: [Break]
    public var settlements: [Settlement]

    public static let exampleLimit = 20

    public func count(_ kind: BreakKind) -> Int { breaks.first { $0.kind == kind }?.count ?? 0 }

    enum CodingKeys: String, CodingKey {
        case generatedAt = "generated_at", deadlineSeconds = "deadline_seconds", paymentsSeen = "payments_seen"
        case decisionsSeen = "decisions_seen", totalBreaks = "total_breaks", breaks, settlements
    }
}
