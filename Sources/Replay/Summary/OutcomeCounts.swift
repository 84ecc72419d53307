import FraudCore

/// How many decisions came out approve, review and decline.
public struct OutcomeCounts: Codable, Hashable, Sendable {
    public var approve = 0
    public var review = 0
    public var decline = 0

    public init(approve: Int = 0, review: Int = 0, decline: Int = 0) {
        self.approve = approve
        self.review = review
        self.decline = decline
    }

    public var total: Int { approve + review + decline }

    public subscript(outcome: Outcome) -> Int {
        get {
            switch outcome {
            case .approve: approve
            case .review: review
            case .decline: decline
            }
        }
        set {
            switch outcome {
            case .approve: approve = newValue
            case .review: review = newValue
            case .decline: decline = newValue
            }
        }
    }
}

/// Decisions of labeled events: the rows are the truth, the columns the outcome.
public struct ConfusionMatrix: Codable, Hashable, Sendable {
    public var fraud = OutcomeCounts()
    public var legit = OutcomeCounts()

    public init(fraud: OutcomeCounts = OutcomeCounts(), legit: OutcomeCounts = OutcomeCounts()) {
        self.fraud = fraud
        self.legit = legit
    }

    /// Precision, recall, F1 and false-positive rate when the outcomes in `flagged` count as
    /// "caught" and the others as "let through".
    public func metrics(flagging flagged: Set<Outcome>) -> FlagMetrics {
        var metrics = FlagMetrics()
        for outcome in Outcome.allCases {
            if flagged.contains(outcome) {
                metrics.truePositives += fraud[outcome]
                metrics.falsePositives += legit[outcome]
            } else {
                metrics.falseNegatives += fraud[outcome]
                metrics.trueNegatives += legit[outcome]
            }
        }
        return metrics
    }
}
