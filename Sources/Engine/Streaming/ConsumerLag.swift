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

    public func apply(_ batch: KafkaConsumerBatch) {
        guard !batch.isEmpty else { return }
        let next = batch.messages.isEmpty ? [] : batch.nextOffsets
        positions.withLock { positions in
            for event in batch.events {
                switch event {
                case .assigned(let partitions): for partition in partitions where positions[partition] == nil { positions[partition] = .some(nil) }
                case .revoked(let partitions): for partition in partitions { positions[partition] = nil }
                case .partitionEOF, .error, .commitFailed: break
                }
            }
            for offset in next {
                let partition = KafkaTopicPartition(topic: offset.topic, partition: offset.partition)
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

/// The broker's view of partitions, for lag: where they end, and where the group committed.
public protocol PartitionOffsetsSource: Sendable {
    func watermarks(of partition: KafkaTopicPartition) throws -> (low: Int64, high: Int64)
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
                measure()
            }
        }.run()
    }

    /// Measures every owned partition once and publishes the result; returns it.
    @discardableResult
    public func measure() -> [(partition: KafkaTopicPartition, lag: Int64)] {
        let owned = positions.snapshot
        var lags: [(partition: KafkaTopicPartition, lag: Int64)] = []
        let previous = last.withLock { $0 }
        do {
            let unread = owned.filter { $0.next == nil }.map(\.partition)
            let committed = unread.isEmpty ? [:] : try offsets.committed(unread)
            for (partition, next) in owned {
                let marks = try offsets.watermarks(of: partition)
                let position = next ?? committed[partition] ?? marks.low
                lags.append((partition, max(0, marks.high - position)))
            }
        } catch {
            // One slow or failing broker call per round is enough: keep the last values.
            logger.debug("consumer lag not measured this round", metadata: ["error": "\(error)"])
            let measured = Set(lags.map(\.partition))
            for entry in owned where !measured.contains(entry.partition) {
                if let lag = previous[entry.partition] { lags.append((entry.partition, lag)) }
            }
        }
        last.withLock { last in
            last = [:]
            for entry in lags { last[entry.partition] = entry.lag }
        }
        metrics.recordConsumerLag(lags.map { (topic: $0.partition.topic, partition: $0.partition.partition, lag: $0.lag) })
        return lags
    }
}
