import Foundation
import Kafka
import Logging
import Synchronization
import ThreadName

/// The pipeline's consumer over the Kafka wrapper: one group member subscribed to `payments`.
public final class KafkaMessageSource: MessageSource {
    private let consumer: KafkaConsumer
    private let positions: PartitionPositions
    private let logger: Logger

    /// - Parameter positions: kept up to date with what this member owns and has read (for lag).
    public init(consumer: KafkaConsumer, positions: PartitionPositions = PartitionPositions(), logger: Logger) {
        self.consumer = consumer
        self.positions = positions
        self.logger = logger
    }

    public func poll(maxMessages: Int, linger: Duration) async throws -> [KafkaConsumerMessage] {
        // The iterator polls on the consumer's own thread and returns the first non-empty batch;
        // it ends (nil) when the task is cancelled, which is how the poll stage stops.
        var batches = consumer.batches(maxMessages: maxMessages, pollTimeout: linger).makeAsyncIterator()
        guard let batch = try await batches.next() else { return [] }
        for event in batch.events { log(event) }
        positions.apply(batch)
        return batch.messages
    }

    /// An asynchronous commit returns at once. A synchronous one waits for the broker's answer
    /// on a thread of its own, and the caller stops waiting when it is cancelled: librdkafka's
    /// call cannot be interrupted, and with the group coordinator unreachable it may not return
    /// before the consumer is closed, which a shutdown cut short must not wait for.
    public func commit(_ offsets: [PartitionOffset], mode: KafkaCommitMode) async throws {
        let list = offsets.map { KafkaTopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: $0.nextOffset) }
        guard mode == .sync else { return try consumer.commit(list, mode: .async) }
        let waiter = Mutex<CheckedContinuation<Void, any Error>?>(nil)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiter.withLock { $0 = continuation }
                if Task.isCancelled {
                    waiter.withLock { $0.take() }?.resume(throwing: CancellationError())
                    return
                }
                let consumer = self.consumer
                Thread {
                    ThreadName.setCurrent("kafka-commit")
                    let result = Result { try consumer.commit(list, mode: .sync) }
                    waiter.withLock { $0.take() }?.resume(with: result)
                }.start()
            }
        } onCancel: {
            waiter.withLock { $0.take() }?.resume(throwing: CancellationError())
        }
    }

    public func assignmentEpoch(of partition: KafkaTopicPartition) -> UInt64? {
        consumer.assignmentEpoch(of: partition)
    }

    public func assignedPartitions() -> Set<KafkaTopicPartition>? {
        do {
            return try consumer.assignment()
        } catch {
            logger.warning("cannot read the consumer's assignment; committing every partition read", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func log(_ event: KafkaConsumerEvent) {
        switch event {
        case .assigned(let partitions): logger.notice("partitions assigned", metadata: ["partitions": "\(partitions)"])
        case .revoked(let partitions): logger.notice("partitions revoked", metadata: ["partitions": "\(partitions)"])
        case .partitionEOF: break
        case .error(let code, let detail): logger.warning("consumer error (librdkafka retries)", metadata: ["code": "\(code)", "detail": "\(detail)"])
        case .commitFailed(let code): logger.warning("asynchronous commit failed", metadata: ["code": "\(code)"])
        }
    }
}

/// The pipeline's producer over the Kafka wrapper.
public final class KafkaMessageSink: MessageSink {
    private let producer: KafkaProducer

    public init(producer: KafkaProducer) { self.producer = producer }

    public func enqueue(_ messages: [OutgoingMessage]) async throws -> PendingDelivery {
        let delivery = try await producer.enqueue(messages.map { message in
            KafkaProducerMessage(
                topic: message.topic, key: message.key, value: message.value,
                headers: message.headers.map { KafkaHeader(name: $0.0, value: $0.1) }
            )
        })
        return PendingDelivery { _ = try await delivery.acknowledgements() }
    }
}

/// The broker's offsets for lag, over the engine's own consumer (librdkafka handles are
/// thread-safe; each call is one broker round trip per topic, bounded by `timeout`).
public struct KafkaPartitionOffsets: PartitionOffsetsSource {
    private let consumer: KafkaConsumer
    private let timeout: Duration

    public init(consumer: KafkaConsumer, timeout: Duration = .seconds(1)) {
        self.consumer = consumer
        self.timeout = timeout
    }

    public func ends(of partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition: Int64] {
        try boundaries(of: partitions, .end)
    }

    public func starts(of partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition: Int64] {
        try boundaries(of: partitions, .start)
    }

    public func committed(_ partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition: Int64] {
        try consumer.committed(partitions, timeout: timeout)
    }

    private func boundaries(of partitions: [KafkaTopicPartition], _ boundary: KafkaPartitionBoundary) throws -> [KafkaTopicPartition: Int64] {
        var result: [KafkaTopicPartition: Int64] = [:]
        for (topic, members) in Dictionary(grouping: partitions, by: \.topic) {
            for (partition, offset) in try consumer.boundaryOffsets(topic: topic, partitions: members.map(\.partition), boundary, timeout: timeout) {
                result[KafkaTopicPartition(topic: topic, partition: partition)] = offset
            }
        }
        return result
    }
}
