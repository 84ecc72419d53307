import Logging

/// Turns a batch of `fraud-decisions` and `payment-reviews` records into settlement instructions
/// and applies them in one ledger transaction. Records that do not decode are reported before
/// anything is written (UndecodableRecords): ConsumerLoop parks them and applies the rest, since
/// retrying them would stall the partition forever.
public struct SettlementConsumer: Sendable {
    let ledger: WalletLedger
    let metrics: WalletMetrics
    let decisionsTopic: String
    let reviewsTopic: String
    let logger: Logger

    public init(ledger: WalletLedger, metrics: WalletMetrics, decisionsTopic: String, reviewsTopic: String, logger: Logger) {
        self.ledger = ledger
        self.metrics = metrics
        self.decisionsTopic = decisionsTopic
        self.reviewsTopic = reviewsTopic
        self.logger = logger
    }

    public func handle(_ batch: [ConsumedRecord]) async throws {
        var instructions: [SettlementInstruction] = []
        instructions.reserveCapacity(batch.count)
        var refusals: [UndecodableRecords.Refusal] = []
        for record in batch {
            switch instruction(from: record) {
            case .success(let instruction): instructions.append(instruction)
            case .failure(let refusal): refusals.append(refusal)
            }
        }
        guard refusals.isEmpty else { throw UndecodableRecords(refusals) }
        for applied in try await ledger.settle(instructions) {
            metrics.settlements(applied.effect).increment()
            if applied.redelivered { metrics.redelivered.increment() }
        }
    }

    func instruction(from record: ConsumedRecord) -> Result<SettlementInstruction, UndecodableRecords.Refusal> {
        if record.topic == reviewsTopic {
            guard let review = ReviewOutcome.decode(record.value) else {
                return .failure(.init(record: record, reason: "not a review outcome: expected JSON with payment_id and resolution approve or decline"))
            }
            return .success(SettlementInstruction(paymentID: review.paymentID, outcome: review.resolution.outcome, source: .review))
        }
        do {
            let decision = try DecisionEnvelope(decoding: record.value)
            return .success(SettlementInstruction(paymentID: decision.paymentID, outcome: decision.outcome, source: .decision))
        } catch {
            return .failure(.init(record: record, reason: "not a decision: \(error)"))
        }
    }
}
