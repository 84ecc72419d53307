import Logging

/// The payment service's consumer of `fraud-decisions`: moves undecided payments to approved,
/// declined or in_review in one transaction per batch. Records that do not decode are reported
/// before anything is written (UndecodableRecords), for ConsumerLoop to park.
public struct DecisionApplier: Sendable {
    let store: PaymentStore
    let metrics: PaymentMetrics
    let logger: Logger

    public init(store: PaymentStore, metrics: PaymentMetrics, logger: Logger) {
        self.store = store
        self.metrics = metrics
        self.logger = logger
    }

    public func handle(_ batch: [ConsumedRecord]) async throws {
        var decisions: [DecisionEnvelope] = []
        decisions.reserveCapacity(batch.count)
        var refusals: [UndecodableRecords.Refusal] = []
        for record in batch {
            do { decisions.append(try DecisionEnvelope(decoding: record.value)) } catch {
                refusals.append(.init(record: record, reason: "not a decision: \(error)"))
            }
        }
        guard refusals.isEmpty else { throw UndecodableRecords(refusals) }
        for seconds in try await store.applyDecisions(decisions) {
            metrics.decisionLatency.recordNanoseconds(Int64(seconds * 1e9))
        }
        for decision in decisions { metrics.decided(PaymentStatus.after(decision.outcome)).increment() }
    }
}
