import Kafka

/// One message to publish: a decision or a dead letter.
public struct OutgoingMessage: Sendable, Equatable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [(String, [UInt8])]

    public init(topic: String, key: [UInt8]?, value: [UInt8], headers: [(String, [UInt8])] = []) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// What the message holds in memory until the broker acknowledges it: value, key and
    /// headers (names and values).
    public var byteCount: Int {
        headers.reduce(value.count + (key?.count ?? 0)) { $0 + $1.0.utf8.count + $1.1.count }
    }

    public static func == (lhs: OutgoingMessage, rhs: OutgoingMessage) -> Bool {
        lhs.topic == rhs.topic && lhs.key == rhs.key && lhs.value == rhs.value
            && lhs.headers.map(\.0) == rhs.headers.map(\.0) && lhs.headers.map(\.1) == rhs.headers.map(\.1)
    }
}

/// The next offset to read of one partition, as committed to the consumer group.
public struct PartitionOffset: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var nextOffset: Int64

    public init(topic: String, partition: Int32, nextOffset: Int64) {
        self.topic = topic
        self.partition = partition
        self.nextOffset = nextOffset
    }
}

/// The consuming half of the transport (Kafka in production).
public protocol MessageSource: Sendable {
    /// Up to `maxMessages` messages, waiting at most `linger` for more once one has arrived;
    /// an empty array when nothing arrived within `linger`.
    func poll(maxMessages: Int, linger: Duration) async throws -> [KafkaConsumerMessage]
    /// Commits the group's position; called only after every output of those messages was
    /// acknowledged. `.async` returns before the broker answers (a lost commit only means
    /// redelivery); the pipeline's last commit before it stops is `.sync`.
    func commit(_ offsets: [PartitionOffset], mode: KafkaCommitMode) async throws
    /// The partitions this member owns now; nil when unknown (then every offset is committed).
    /// A partition revoked after its messages were polled belongs to another member, whose
    /// progress a commit from here would overwrite.
    func assignedPartitions() -> Set<KafkaTopicPartition>?
    /// How many times `partition` was assigned to or revoked from this member so far
    /// (`KafkaConsumer.assignmentEpoch(of:)`); nil when unknown (then offsets are guarded by
    /// `assignedPartitions()` only). An offset is committed only under the epoch its messages
    /// were polled under (`KafkaConsumerMessage.assignmentEpoch`).
    func assignmentEpoch(of partition: KafkaTopicPartition) -> UInt64?
}

extension MessageSource {
    public func assignedPartitions() -> Set<KafkaTopicPartition>? { nil }
    public func assignmentEpoch(of partition: KafkaTopicPartition) -> UInt64? { nil }
}

/// The producing half of the transport.
public protocol MessageSink: Sendable {
    /// Hands the messages to the transport, in order after those of earlier calls, and returns
    /// without waiting for the broker.
    func enqueue(_ messages: [OutgoingMessage]) async throws -> PendingDelivery
}

extension MessageSink {
    /// Returns once the broker acknowledged every message; throws if any was not delivered.
    public func send(_ messages: [OutgoingMessage]) async throws {
        try await enqueue(messages).acknowledged()
    }
}

/// Messages handed to a `MessageSink` on their way to the broker.
public struct PendingDelivery: Sendable {
    private let acknowledgement: @Sendable () async throws -> Void

    /// - Parameter acknowledgement: returns once the broker acknowledged every message.
    public init(_ acknowledgement: @escaping @Sendable () async throws -> Void) {
        self.acknowledgement = acknowledgement
    }

    /// Returns once the broker acknowledged every message; throws if any was not delivered.
    /// Call it once.
    public func acknowledged() async throws { try await acknowledgement() }
}
