import Logging

/// Turns a batch of `fraud-decisions` and `payment-reviews` records into settlement instructions
/// and applies them in one ledger transaction. Malformed records are logged with their offset and
/// skipped: they can move no money, and retrying them would stall the partition forever.
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
        for record in batch {
            if let instruction = instruction(from: record) { instructions.append(instruction) }
        }
        for applied in try await ledger.settle(instructions) {
            metrics.settlements(applied.effect).increment()
            if applied.redelivered { metrics.redelivered.increment() }
        }
    }

    func instruction(from record: ConsumedRecord) -> SettlementInstruction? {
        if record.topic == reviewsTopic {
            guard let review = ReviewOutcome.decode(record.value) else {
                logger.error("skipping malformed review outcome", metadata: ["partition": "\(record.partition)", "offset": "\(record.offset)"])
                return nil
            }
            return SettlementInstruction(paymentID: review.paymentID, outcome: review.resolution.outcome, source: .review)
        }
        do {
            let decision = try DecisionEnvelope(decoding: record.value)
            return SettlementInstruction(paymentID: decision.paymentID, outcome: decision.outcome, source: .decision)
        } catch {
            logger.error("skipping malformed decision", metadata: [
                "partition": "\(record.partition)", "offset": "\(record.offset)", "error": "\(error)",
            ])
            return nil
        }
    }
}
