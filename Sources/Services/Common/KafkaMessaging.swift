import Kafka
import Logging

/// The services' broker clients on the Kafka module (librdkafka): a producer whose `publish`
/// returns after the broker's acknowledgement, and group consumers with explicit commits.
public struct KafkaMessaging: Messaging {
    let brokers: String
    let logger: Logger

    public init(configuration: ServicesConfiguration, logger: Logger) {
        self.init(brokers: configuration.kafkaBrokers, logger: logger)
    }

    public init(brokers: String, logger: Logger) {
        self.brokers = brokers
        self.logger = logger
    }

    public func publisher() throws -> any RecordPublisher {
        let client = KafkaClientConfiguration(brokers: brokers, clientID: "waqiti-services")
        return KafkaRecordPublisher(producer: try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger))
    }

    public func source(groupID: String, topics: [String]) throws -> any RecordSource {
        let client = KafkaClientConfiguration(brokers: brokers, clientID: groupID)
        var configuration = KafkaConsumerConfiguration(client: client, groupID: groupID)
        configuration.offsetReset = .earliest
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.subscribe(topics: topics)
        return KafkaRecordSource(consumer: consumer, logger: logger)
    }
}

struct KafkaRecordPublisher: RecordPublisher {
    let producer: KafkaProducer

    func publish(topic: String, key: String, value: [UInt8]) async throws {
        _ = try await producer.send([KafkaProducerMessage(topic: topic, key: Array(key.utf8), value: value)])
    }

    func publish(topic: String, rawKey: [UInt8]?, value: [UInt8]) async throws {
        _ = try await producer.send([KafkaProducerMessage(topic: topic, key: rawKey, value: value)])
    }

    /// Enqueued in order, so records with one key keep their order on its partition.
    func publish(_ records: [OutgoingRecord]) async throws {
        _ = try await producer.send(records.map { KafkaProducerMessage(topic: $0.topic, key: Array($0.key.utf8), value: $0.value) })
    }
}

struct KafkaRecordSource: RecordSource {
    let consumer: KafkaConsumer
    let logger: Logger

    func poll(maxRecords: Int) async throws -> [ConsumedRecord] {
        let batch = try consumer.poll(maxMessages: maxRecords, timeout: .milliseconds(100))
        for event in batch.events {
            switch event {
            case .error(let code, let detail):
                logger.warning("kafka consumer error", metadata: ["code": "\(code)", "detail": "\(detail)"])
            case .commitFailed(let code):
                logger.warning("kafka commit failed", metadata: ["code": "\(code)"])
            case .assigned(let partitions):
                logger.info("partitions assigned", metadata: ["partitions": "\(partitions)"])
            case .revoked(let partitions):
                logger.info("partitions revoked", metadata: ["partitions": "\(partitions)"])
            case .partitionEOF:
                break
            }
        }
        return batch.messages
    }

    func commit(_ records: [ConsumedRecord]) async throws {
        var next: [String: [Int32: Int64]] = [:]
        for record in records { next[record.topic, default: [:]][record.partition] = max(next[record.topic]?[record.partition] ?? 0, record.offset + 1) }
        let offsets = next.flatMap { topic, partitions in
            partitions.map { KafkaTopicPartitionOffset(topic: topic, partition: $0.key, offset: $0.value) }
        }
        try consumer.commit(offsets)
    }

    func close() async { consumer.close() }
}
