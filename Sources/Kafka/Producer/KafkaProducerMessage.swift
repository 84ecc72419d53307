/// A Kafka record header. Values are bytes; nil is a header with a null value.
public struct KafkaHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    public init(name: String, value: String) { self.init(name: name, value: Array(value.utf8)) }
}

/// A record to produce. The key picks the partition (librdkafka's default partitioner hashes it),
/// so every event of one account lands in one partition, in order.
public struct KafkaProducerMessage: Sendable, Hashable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// nil lets the partitioner choose from the key.
    public var partition: Int32?

    public init(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = [], partition: Int32? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
    }

    public init(topic: String, key: String, value: String, headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: Array(key.utf8), value: Array(value.utf8), headers: headers)
    }
}

/// Where the broker stored an acknowledged message.
public struct KafkaAcknowledgement: Sendable, Hashable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
}
