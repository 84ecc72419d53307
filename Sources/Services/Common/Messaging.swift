import Kafka

/// One record read from a topic, with where it came from so its offset can be committed: the
/// Kafka wrapper's message itself, so the engine and the services share one type.
public typealias ConsumedRecord = KafkaConsumerMessage

/// Publishes records and returns only once the broker acknowledged them, so that a caller who
/// marks something "published" after `publish` returns is never wrong.
public protocol RecordPublisher: Sendable {
    func publish(topic: String, key: String, value: [UInt8]) async throws
    /// Publishes a record read before with its key exactly as read: bytes that need not be UTF-8,
    /// or none, so that it goes back to the partition its key chose (a keyless record stays
    /// keyless instead of gaining the empty key).
    func publish(topic: String, rawKey: [UInt8]?, value: [UInt8]) async throws
    /// Publishes `records` in order and returns once the broker acknowledged every one; throws
    /// if any was not (the others may have been: callers retry the whole batch).
    func publish(_ records: [OutgoingRecord]) async throws
}

/// A record to publish.
public struct OutgoingRecord: Sendable, Equatable {
    public var topic: String
    public var key: String
    public var value: [UInt8]

    public init(topic: String, key: String, value: [UInt8]) {
        self.topic = topic
        self.key = key
        self.value = value
    }
}

extension RecordPublisher {
    /// One record at a time; a broker client overrides this to send the batch at once.
    public func publish(_ records: [OutgoingRecord]) async throws {
        for record in records { try await publish(topic: record.topic, key: record.key, value: record.value) }
    }
}

/// A consumer-group member with explicit commits: `poll` hands out records, `commit` stores the
/// offsets after the last record of a batch once its effects are durable elsewhere.
public protocol RecordSource: Sendable {
    /// Up to `maxRecords` records; an empty array when nothing arrived within the poll timeout.
    func poll(maxRecords: Int) async throws -> [ConsumedRecord]
    func commit(_ records: [ConsumedRecord]) async throws
    func close() async
}

/// Makes the broker clients a service needs; the Kafka implementation lives in KafkaMessaging.
public protocol Messaging: Sendable {
    func publisher() throws -> any RecordPublisher
    /// A consumer-group member subscribed to `topics`, committing explicitly.
    func source(groupID: String, topics: [String]) throws -> any RecordSource
}
