/// A topic partition.
public struct KafkaTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition) }
}

/// A record read from Kafka: what the engine's pipeline and the platform services consume (their
/// test doubles build it with the public initializer).
public struct KafkaConsumerMessage: Sendable, Hashable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: [UInt8]?
    public let value: [UInt8]
    public let headers: [KafkaHeader]
    /// Broker or producer timestamp in epoch milliseconds, nil when the record has none.
    public let timestampMilliseconds: Int64?
    /// The partition's assignment epoch when the message was polled
    /// (`KafkaConsumer.assignmentEpoch(of:)`): compared with the epoch at commit time, it tells
    /// whether the partition was revoked (and perhaps assigned again) since. 0 for a consumer
    /// that is not a group member.
    public let assignmentEpoch: UInt64

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8],
        headers: [KafkaHeader] = [], timestampMilliseconds: Int64? = nil, assignmentEpoch: UInt64 = 0
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
        self.assignmentEpoch = assignmentEpoch
    }

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
}

/// Something that happened to the consumer between two polls, in order.
public enum KafkaConsumerEvent: Sendable, Hashable {
    /// The group gave this member these partitions (eager: the full set; cooperative: added ones).
    case assigned([KafkaTopicPartition])
    /// These partitions were taken away; messages read from them but not committed will be
    /// redelivered to their new owner.
    case revoked([KafkaTopicPartition])
    /// Reached the end of a partition (only with `reportPartitionEOF`); `offset` is the next one.
    case partitionEOF(KafkaTopicPartition, offset: Int64)
    /// A consumer error that librdkafka reports and retries on its own (broker down, unknown
    /// topic); fatal errors throw instead.
    case error(KafkaErrorCode, detail: String)
    /// An asynchronous commit failed.
    case commitFailed(KafkaErrorCode)
}

/// What one poll returned: messages in partition order, and the events that came with them.
public struct KafkaConsumerBatch: Sendable {
    public var messages: [KafkaConsumerMessage] = []
    public var events: [KafkaConsumerEvent] = []

    public init(messages: [KafkaConsumerMessage] = [], events: [KafkaConsumerEvent] = []) {
        self.messages = messages
        self.events = events
    }

    public var isEmpty: Bool { messages.isEmpty && events.isEmpty }

    /// The offsets to commit after processing this batch: per partition, one past the last
    /// message (Kafka's committed offset is the next one to read).
    public var nextOffsets: [KafkaTopicPartitionOffset] {
        var next: [KafkaTopicPartition: Int64] = [:]
        for message in messages {
            next[message.topicPartition] = max(next[message.topicPartition] ?? 0, message.offset + 1)
        }
        return next.sorted { $0.key < $1.key }.map { KafkaTopicPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) }
    }
}

/// A partition and an offset: a commit position (the next offset to read) or a read position.
public struct KafkaTopicPartitionOffset: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public var description: String { "\(topic)[\(partition)]@\(offset)" }
}

/// Where an assigned partition starts reading.
public enum KafkaStartOffset: Sendable, Hashable {
    case beginning
    case end
    /// The group's committed offset (needs a group id), else `auto.offset.reset`.
    case committed
    case offset(Int64)

    var rawValue: Int64 {
        switch self {
        case .beginning: -2  // RD_KAFKA_OFFSET_BEGINNING
        case .end: -1  // RD_KAFKA_OFFSET_END
        case .committed: -1000  // RD_KAFKA_OFFSET_STORED
        case .offset(let offset): offset
        }
    }
}

/// A partition to read without joining a group (replay): from `start`, up to but excluding
/// `end` when given; the consumer's batches end once every bounded range is read.
public struct KafkaPartitionRange: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var start: KafkaStartOffset
    public var end: Int64?

    public init(topic: String, partition: Int32, start: KafkaStartOffset, end: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.start = start
        self.end = end
    }
}
