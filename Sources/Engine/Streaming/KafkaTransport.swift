import Kafka
import Logging

/// The pipeline's consumer over the Kafka wrapper: one group member subscribed to `payments`.
public final class KafkaMessageSource: MessageSource {
    private let consumer: KafkaConsumer
    private let logger: Logger

    public init(consumer: KafkaConsumer, logger: Logger) {
        self.consumer = consumer
        self.logger = logger
    }

    public func poll(maxMessages: Int, linger: Duration) async throws -> [ConsumedMessage] {
        // The iterator polls on the consumer's own thread and returns the first non-empty batch;
        // it ends (nil) when the task is cancelled, which is how the poll stage stops.
        var batches = consumer.batches(maxMessages: maxMessages, pollTimeout: linger).makeAsyncIterator()
        guard let batch = try await batches.next() else { return [] }
        for event in batch.events { log(event) }
        return batch.messages.map {
            ConsumedMessage(topic: $0.topic, partition: $0.partition, offset: $0.offset, key: $0.key, value: $0.value)
        }
    }

    public func commit(_ offsets: [PartitionOffset]) async throws {
        try consumer.commit(offsets.map { KafkaTopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: $0.nextOffset) })
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

/// The pipeline's producer over the Kafka wrapper: returns once the broker acknowledged all.
public final class KafkaMessageSink: MessageSink {
    private let producer: KafkaProducer

    public init(producer: KafkaProducer) { self.producer = producer }

    public func send(_ messages: [OutgoingMessage]) async throws {
        _ = try await producer.send(messages.map { message in
            KafkaProducerMessage(
                topic: message.topic, key: message.key, value: message.value,
                headers: message.headers.map { KafkaHeader(name: $0.0, value: $0.1) }
            )
        })
    }
}
