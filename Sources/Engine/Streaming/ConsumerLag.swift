import Kafka
import Logging
import ServiceLifecycle
import Synchronization

/// The partitions this instance owns and how far it has read each: updated by the consumer as
/// batches and rebalance events arrive, read by `ConsumerLagMonitor`.
public final class PartitionPositions: Sendable {
    /// Next offset to read per owned partition; nil until a message of it arrived.
    private let positions = Mutex<[KafkaTopicPartition: Int64?]>([:])

    public init() {}

    /// The batch's rebalance events in order, then its messages' read positions, except for the
    /// partitions the batch revokes.
    ///
    /// A batch lists its rebalance events ahead of its messages (`KafkaConsumer`'s poll drains
    /// them after the messages and puts them first), not where they happened among them, so a
    /// revoked partition's messages read before the revocation come after it here. Their offsets
    /// used to put the partition back, and its `waqiti_consumer_lag_messages` gauge then grew for
    /// good on an instance that no longer owned it. Such a partition is left as the events leave
    /// it: gone, or, assigned again in the same batch, unread (its lag counts from the group's
    /// committed offset until the next batch's messages).
    public func apply(_ batch: KafkaConsumerBatch) {
        guard !batch.isEmpty else { return }
        let next = batch.messages.isEmpty ? [] : batch.nextOffsets
        positions.withLock { positions in
            var revoked: Set<KafkaTopicPartition> = []
            for event in batch.events {
                switch event {
                case .assigned(let partitions): for partition in partitions where positions[partition] == nil { positions[partition] = .some(nil) }
                case .revoked(let partitions):
                    for partition in partitions { positions[partition] = nil }
                    revoked.formUnion(partitions)
                case .partitionEOF, .error, .commitFailed: break
                }
            }
            for offset in next {
                let partition = KafkaTopicPartition(topic: offset.topic, partition: offset.partition)
                guard !revoked.contains(partition) else { continue }
                positions[partition] = max((positions[partition] ?? nil) ?? 0, offset.offset)
            }
        }
    }

    /// Owned partitions in order, with the next offset to read where known.
    public var snapshot: [(partition: KafkaTopicPartition, next: Int64?)] {
        let owned: [(partition: KafkaTopicPartition, next: Int64?)] = positions.withLock { positions in
            positions.map { (partition: $0.key, next: $0.value) }
        }
        return owned.sorted { $0.partition < $1.partition }
    }
}

/// The broker's view of partitions, for lag: where they end and start, and where the group
/// committed. Each call covers many partitions, so one round of measurement is a few broker round
/// trips however many partitions an instance owns.
public protocol PartitionOffsetsSource: Sendable {
    /// One past the last offset of each partition (its high watermark).
    func ends(of partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition: Int64]
    /// The first offset each partition still holds (its low watermark).
    func starts(of partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition: Int64]
    /// The group's committed offsets; partitions without one are absent.
    func committed(_ partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition: Int64]
}

/// Publishes `waqiti_consumer_lag_messages{topic,partition}`, the messages between this instance's read
/// position and each owned partition's high watermark, every `interval`.
///
/// A partition not read from yet since it was assigned counts from the group's committed offset,
/// or from its first offset when nothing was committed (the consumer starts at the earliest
/// offset). A broker that does not answer leaves the last values in place. Tansu 0.6 reports the
/// high watermark as one past the first offset of the last record batch, so there the lag is a
/// lower bound (exact when producers send one record per batch).
///
/// The broker calls block (librdkafka has no asynchronous offset queries), so each round runs on
/// a thread of its own rather than on Swift's cooperative pool, whose few threads run the
/// pipeline and the HTTP handlers.
public final class ConsumerLagMonitor: Service, Sendable {
    private let positions: PartitionPositions
    private let offsets: any PartitionOffsetsSource
    private let metrics: EngineMetrics
    private let interval: Duration
    private let logger: Logger
    private let last = Mutex<[KafkaTopicPartition: Int64]>([:])

    public init(positions: PartitionPositions, offsets: any PartitionOffsetsSource, metrics: EngineMetrics, interval: Duration = .seconds(5), logger: Logger) {
        self.positions = positions
        self.offsets = offsets
        self.metrics = metrics
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try await LoopService(name: "consumer-lag") { [self] in
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await OffPool.run("consumer-lag") { [self] in measure() }
            }
        }.run()
    }

    /// Measures every owned partition once and publishes the result; returns it. Blocks on the
    /// broker: at most three calls (ends; for partitions not read yet, committed offsets; for
    /// those without one, starts).
    @discardableResult
    public func measure() -> [(partition: KafkaTopicPartition, lag: Int64)] {
        let owned = positions.snapshot
        var lags: [(partition: KafkaTopicPartition, lag: Int64)] = []
        do {
            let ends = try offsets.ends(of: owned.map(\.partition))
            let unread = owned.filter { $0.next == nil }.map(\.partition)
            let committed = unread.isEmpty ? [:] : try offsets.committed(unread)
            let neverCommitted = unread.filter { committed[$0] == nil }
            let starts = neverCommitted.isEmpty ? [:] : try offsets.starts(of: neverCommitted)
            for (partition, next) in owned {
                guard let end = ends[partition], let position = next ?? committed[partition] ?? starts[partition] else {
                    throw UnansweredPartition(partition: partition)
                }
                lags.append((partition, max(0, end - position)))
            }
        } catch {
            logger.debug("consumer lag not measured this round", metadata: ["error": "\(error)"])
            let previous = last.withLock { $0 }
            lags = owned.compactMap { entry in previous[entry.partition].map { (entry.partition, $0) } }
        }
        last.withLock { last in
            last = [:]
            for entry in lags { last[entry.partition] = entry.lag }
        }
        metrics.recordConsumerLag(lags.map { (topic: $0.partition.topic, partition: $0.partition.partition, lag: $0.lag) })
        return lags
    }
}

/// The broker's answer left out a partition that was asked about.
private struct UnansweredPartition: Error, CustomStringConvertible {
    let partition: KafkaTopicPartition
    var description: String { "the broker's offsets did not include \(partition)" }
}
