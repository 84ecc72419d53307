#if canImport(Glibc)
import Glibc
#endif
import FraudCore
import Kafka
import Logging
import ServiceLifecycle

/// Polls a topic, hands each batch to `handle`, and commits the batch's offsets only after
/// `handle` returned, i.e. after its database transaction committed. A crash in between redelivers
/// the batch; handlers are idempotent by payment id, so the redelivery has no further effect.
///
/// A batch that fails transiently (ConsumerFailure) is retried with backoff rather than skipped:
/// skipping would commit past money that was never moved. A batch that fails permanently is split
/// in halves, in order, until the records the handler refuses are alone; each of those is parked
/// in `parked_messages` (with its topic, partition, offset, key, payload and the error) before the
/// offsets move past it, and the others are applied as usual, once. One poison record therefore
/// costs a few extra transactions instead of blocking its partition for good.
public struct ConsumerLoop: Service {
    let name: String
    let source: any RecordSource
    let maxRecords: Int
    let handle: @Sendable ([ConsumedRecord]) async throws -> Void
    let parking: ParkedMessages
    let metrics: ConsumerMetrics
    /// An unclassified failure repeated this many times in a row for the same records counts as
    /// permanent (`consumer.unclassified_failure_limit`).
    let unclassifiedFailureLimit: Int
    let logger: Logger
    /// Fault injection for acceptance tests: after this many handled batches the process dies
    /// between the database commit and the offset commit, the window redelivery must survive.
    let crashBeforeCommitAfterBatches: Int?
    /// The first wait after a failure; tests shorten it.
    let initialBackoff: Duration

    public init(name: String, source: any RecordSource, maxRecords: Int = 500, parking: ParkedMessages, metrics: ConsumerMetrics,
                unclassifiedFailureLimit: Int = ServicesConfiguration().unclassifiedFailureLimit,
                crashBeforeCommitAfterBatches: Int? = nil, initialBackoff: Duration = .milliseconds(100),
                logger: Logger, handle: @escaping @Sendable ([ConsumedRecord]) async throws -> Void) {
        precondition(unclassifiedFailureLimit >= 1, "unclassifiedFailureLimit must be at least 1")
        self.name = name
        self.source = source
        self.maxRecords = maxRecords
        self.parking = parking
        self.metrics = metrics
        self.unclassifiedFailureLimit = unclassifiedFailureLimit
        self.crashBeforeCommitAfterBatches = crashBeforeCommitAfterBatches
        self.initialBackoff = initialBackoff
        self.handle = handle
        self.logger = logger
    }

    /// Shutting down (or cancelled) mid-retry: the batch's offsets stay uncommitted and the next
    /// start redelivers it.
    private struct Stopped: Error {}

    private var stopping: Bool { Task.isShuttingDownGracefully || Task.isCancelled }

    public func run() async throws {
        defer { logger.info("consumer stopped", metadata: ["consumer": "\(name)"]) }
        var backoff = RetryBackoff(initial: initialBackoff)
        var handled = 0
        while !stopping {
            let batch: [ConsumedRecord]
            do {
                batch = try await source.poll(maxRecords: maxRecords)
            } catch {
                let wait = backoff.next()
                logger.error("poll failed; retrying", metadata: [
                    "consumer": "\(name)", "error": "\(error)", "retry_in": "\(wait)",
                ])
                try? await Task.sleep(for: wait)
                continue
            }
            guard !batch.isEmpty else { continue }
            do {
                try await apply(batch[...], permanentAlready: [])
                handled += 1
                if let crashAfter = crashBeforeCommitAfterBatches, handled >= crashAfter {
                    logger.critical("fault injection: exiting before committing the batch's offsets", metadata: [
                        "consumer": "\(name)", "records": "\(batch.count)", "batches": "\(handled)",
                    ])
                    _exit(75)
                }
                try await commit(batch)
                backoff.reset()
            } catch {
                break
            }
        }
        await source.close()
    }

    /// Applies `records` in order, parking those that can never be applied, and returns once
    /// every one was applied or parked. `permanentAlready` holds unclassified failures that
    /// reached the limit on an enclosing batch: a part failing the same way is not retried
    /// the limit over again.
    private func apply(_ records: ArraySlice<ConsumedRecord>, permanentAlready: Set<String>) async throws(Stopped) {
        // What is left of a batch whose every record was undecodable.
        guard !records.isEmpty else { return }
        var backoff = RetryBackoff(initial: initialBackoff)
        var repeated = (failure: "", times: 0)
        while true {
            let error: any Error
            do {
                try await handle(Array(records))
                return
            } catch let caught {
                error = caught
            }
            let failure = ConsumerFailure(classifying: error)
            metrics.failures[failure.kind]?.increment()
            if stopping { throw Stopped() }
            if let undecodable = error as? UndecodableRecords {
                for refusal in undecodable.refusals {
                    try await park(refusal.record, .undecodable, ConsumerFailure(kind: .permanent, sqlState: nil, message: refusal.reason))
                }
                let parked = Set(undecodable.refusals.map { Position($0.record) })
                let rest = records.filter { !parked.contains(Position($0)) }
                // A handler that names no record of this batch would loop here for ever.
                guard rest.count < records.count else {
                    logger.critical("handler reported undecodable records that are not in its batch; retrying", metadata: [
                        "consumer": "\(name)", "error": "\(undecodable)",
                    ])
                    try await pause(backoff.next())
                    continue
                }
                return try await apply(rest[...], permanentAlready: permanentAlready)
            }
            var permanent = failure.kind == .permanent || permanentAlready.contains(failure.description)
            var escalated = permanentAlready
            if failure.kind == .unclassified && !permanent {
                repeated = repeated.failure == failure.description ? (repeated.failure, repeated.times + 1) : (failure.description, 1)
                if repeated.times >= unclassifiedFailureLimit {
                    permanent = true
                    escalated.insert(failure.description)
                }
            }
            guard permanent else {
                let wait = backoff.next()
                logger.error("batch failed; retrying the same records", metadata: [
                    "consumer": "\(name)", "records": "\(records.count)", "first_offset": "\(records.first!.offset)",
                    "failure": "\(failure.kind)", "sqlstate": "\(failure.sqlState ?? "")", "error": "\(failure.message)",
                    "retry_in": "\(wait)",
                ])
                try await pause(wait)
                continue
            }
            guard records.count > 1 else {
                let kind: ParkedMessages.Failure = failure.kind == .unclassified ? .repeated : .refused
                return try await park(records.first!, kind, failure)
            }
            logger.warning("batch refused for good; applying its halves separately to find the records at fault", metadata: [
                "consumer": "\(name)", "records": "\(records.count)", "first_offset": "\(records.first!.offset)",
                "sqlstate": "\(failure.sqlState ?? "")", "error": "\(failure.message)",
            ])
            let middle = records.startIndex + records.count / 2
            try await apply(records[..<middle], permanentAlready: escalated)
            return try await apply(records[middle...], permanentAlready: escalated)
        }
    }

    /// Stores the record in `parked_messages`, retrying for as long as that fails: its offset may
    /// be committed only once it is stored.
    private func park(_ record: ConsumedRecord, _ kind: ParkedMessages.Failure, _ failure: ConsumerFailure) async throws(Stopped) {
        var backoff = RetryBackoff(initial: initialBackoff)
        while true {
            do {
                let stored = try await parking.park(record, consumer: name, failure: kind, cause: failure)
                if stored { metrics.parked.increment() }
                logger.log(level: stored ? .error : .warning,
                           stored ? "parked a record that can never be applied; its offset will be committed past it (docs/services.md, 'Records that cannot be applied')"
                                  : "record parked before is redelivered; committing past it again", metadata: [
                    "consumer": "\(name)", "topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)",
                    "key": "\(record.key.map { String(decoding: $0, as: UTF8.self).replacingOccurrences(of: "\u{0}", with: "\\u0000") } ?? "")", "failure": "\(kind.rawValue)",
                    "sqlstate": "\(failure.sqlState ?? "")", "error": "\(failure.message)",
                ])
                return
            } catch {
                if stopping { throw Stopped() }
                let wait = backoff.next()
                logger.error("parking a record failed; retrying before its offset can be committed", metadata: [
                    "consumer": "\(name)", "topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)",
                    "error": "\(String(reflecting: error))", "retry_in": "\(wait)",
                ])
                try await pause(wait)
            }
        }
    }

    /// Commits the batch's offsets, retrying a failed commit (the batch is applied already).
    /// A commit refused because this member left the group (its session timed out while the
    /// machine or the broker stalled) is not retried: it would be refused for good, and the loop
    /// would never poll again to rejoin (the quick start stalled so, 8,000 payments undecided).
    /// The loop polls on instead; the batch's records are delivered again to the partitions'
    /// owner, which applies each decision once per payment id.
    private func commit(_ batch: [ConsumedRecord]) async throws(Stopped) {
        var backoff = RetryBackoff(initial: initialBackoff)
        while true {
            do {
                try await source.commit(batch)
                return
            } catch KafkaError.operationFailed(_, let code) where code.meansGroupMembershipLost {
                logger.warning("offset commit refused: this consumer left the group; polling again to rejoin (the batch is delivered again and applied once)", metadata: [
                    "consumer": "\(name)", "records": "\(batch.count)", "first_offset": "\(batch[0].offset)", "code": "\(code.name)",
                ])
                return
            } catch {
                if stopping { throw Stopped() }
                let wait = backoff.next()
                logger.error("offset commit failed; retrying", metadata: [
                    "consumer": "\(name)", "records": "\(batch.count)", "first_offset": "\(batch[0].offset)",
                    "error": "\(String(reflecting: error))", "retry_in": "\(wait)",
                ])
                try await pause(wait)
            }
        }
    }

    private func pause(_ wait: Duration) async throws(Stopped) {
        try? await Task.sleep(for: wait)
        if stopping { throw Stopped() }
    }

    private struct Position: Hashable {
        var topic: String
        var partition: Int32
        var offset: Int64

        init(_ record: ConsumedRecord) {
            (topic, partition, offset) = (record.topic, record.partition, record.offset)
        }
    }
}
