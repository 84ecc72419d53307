/// Producer settings. The defaults are the engine's: every decision acknowledged by all in-sync
/// replicas, idempotent (no duplicates from librdkafka's own retries, ordering kept per partition).
public struct KafkaProducerConfiguration: Sendable, Equatable {
    /// `acks`.
    public enum Acknowledgements: String, Sendable {
        case all = "all"
        case leader = "1"
        case none = "0"
    }

    /// `compression.codec`.
    public enum Compression: String, Sendable {
        case none, gzip, snappy, lz4, zstd
    }

    public var client: KafkaClientConfiguration
    public var acknowledgements: Acknowledgements = .all
    /// `enable.idempotence`; requires `acknowledgements == .all`.
    public var idempotence = true
    /// `linger.ms`: how long to wait to fill a batch. Small, because decisions are latency-bound.
    public var linger: Duration = .milliseconds(5)
    /// `batch.size`: the most bytes in one batch to a partition.
    public var batchBytes = 1_000_000
    /// `batch.num.messages`: the most messages in one batch.
    public var batchMessages = 10_000
    /// `message.timeout.ms`: after this, an unacknowledged message fails with `_MSG_TIMED_OUT`.
    public var messageTimeout: Duration = .seconds(30)
    /// `message.max.bytes`: the largest message (value, key, headers and framing) librdkafka
    /// accepts; a larger one fails at once with `MSG_SIZE_TOO_LARGE`. Set explicitly (it is
    /// librdkafka's default) because callers size what they produce by it.
    public var maxMessageBytes = 1_000_000
    /// `queue.buffering.max.messages`: how many messages may wait locally for the broker.
    public var queueMaxMessages = 100_000
    public var compression: Compression = .none

    public init(client: KafkaClientConfiguration) {
        self.client = client
    }

    func properties() throws(KafkaError) -> [(String, String)] {
        if idempotence && acknowledgements != .all {
            throw .invalidConfiguration(key: "acks", reason: "idempotence needs acks=all; set acknowledgements = .all or idempotence = false")
        }
        guard (1...2_147_483_647).contains(batchBytes) else {
            throw .invalidConfiguration(key: "batch.size", reason: "\(batchBytes) is not from 1 to 2147483647 bytes")
        }
        guard (1...1_000_000).contains(batchMessages) else {
            throw .invalidConfiguration(key: "batch.num.messages", reason: "\(batchMessages) is not from 1 to 1000000")
        }
        guard (1000...1_000_000_000).contains(maxMessageBytes) else {
            throw .invalidConfiguration(key: "message.max.bytes", reason: "\(maxMessageBytes) is not from 1000 to 1000000000 bytes")
        }
        guard (1...10_000_000).contains(queueMaxMessages) else {
            throw .invalidConfiguration(key: "queue.buffering.max.messages", reason: "\(queueMaxMessages) is not from 1 to 10000000")
        }
        let typed = try client.properties() + [
            ("acks", acknowledgements.rawValue),
            ("enable.idempotence", idempotence ? "true" : "false"),
            ("linger.ms", try milliseconds(linger, key: "linger.ms", in: 0...900_000)),
            ("batch.size", String(batchBytes)),
            ("batch.num.messages", String(batchMessages)),
            ("message.timeout.ms", try milliseconds(messageTimeout, key: "message.timeout.ms", in: 1...2_147_483_647)),
            ("message.max.bytes", String(maxMessageBytes)),
            ("queue.buffering.max.messages", String(queueMaxMessages)),
            ("compression.codec", compression.rawValue),
        ]
        return try merged(typed, additional: client.additionalProperties)
    }
}
