import CRdKafka

/// A librdkafka error code (`rd_kafka_resp_err_t`) with its name and description.
public struct KafkaErrorCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    init(_ code: rd_kafka_resp_err_t) { rawValue = code.rawValue }

    /// librdkafka's symbolic name, for example `_MSG_TIMED_OUT` or `UNKNOWN_TOPIC_OR_PART`.
    public var name: String { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: rawValue))) }

    /// librdkafka's human description.
    public var message: String { String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(rawValue: rawValue))) }

    public var description: String { "\(name): \(message)" }

    public static let noOffset = KafkaErrorCode(RD_KAFKA_RESP_ERR__NO_OFFSET)
    public static let partitionEOF = KafkaErrorCode(RD_KAFKA_RESP_ERR__PARTITION_EOF)
    public static let timedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR__TIMED_OUT)
    public static let messageTimedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
    public static let unknownTopicOrPartition = KafkaErrorCode(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    public static let queueFull = KafkaErrorCode(RD_KAFKA_RESP_ERR__QUEUE_FULL)
    public static let messageSizeTooLarge = KafkaErrorCode(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
    /// `_FATAL`: the client hit a fatal error (an idempotent producer that can no longer keep its
    /// ordering and no-duplicate guarantees); `rd_kafka_fatal_error` names the underlying error.
    /// Every later produce fails the same way: only a new client recovers.
    public static let fatal = KafkaErrorCode(RD_KAFKA_RESP_ERR__FATAL)

    /// Codes with which the group coordinator refuses a commit from a member it no longer counts
    /// (its session timed out, a rebalance moved on without it). Retrying the commit fails the
    /// same way for good: only polling again rejoins the group, and the partitions' records from
    /// the last committed offset go to whoever owns them now.
    public var meansGroupMembershipLost: Bool { Self.membershipLost.contains(self) }

    private static let membershipLost: Set<KafkaErrorCode> = [
        KafkaErrorCode(RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID),
        KafkaErrorCode(RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION),
        KafkaErrorCode(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS),
        KafkaErrorCode(RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID),
        KafkaErrorCode(RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST),
    ]

    /// Whether this code means the client is dead for good (`_FATAL`), as opposed to a failure
    /// that retrying, or leaving one message out, can get past.
    public var isFatal: Bool { self == .fatal }

    /// Codes that refuse one message for what it is (too large, malformed, failing the broker's
    /// validation): producing the same bytes again fails the same way, so retrying never ends.
    /// Everything else (timeouts, leader changes, a full queue, authorization) may clear up.
    public var refusesMessageForGood: Bool { Self.messageRefusals.contains(self) }

    private static let messageRefusals: Set<KafkaErrorCode> = [
        KafkaErrorCode(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE),
        KafkaErrorCode(RD_KAFKA_RESP_ERR_INVALID_MSG),
        KafkaErrorCode(RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE),
        KafkaErrorCode(RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE),
        KafkaErrorCode(RD_KAFKA_RESP_ERR_INVALID_RECORD),
        KafkaErrorCode(RD_KAFKA_RESP_ERR__BAD_MSG),
        KafkaErrorCode(RD_KAFKA_RESP_ERR__INVALID_ARG),
    ]
}

/// One message of a batch that the broker did not acknowledge.
public struct KafkaDeliveryFailure: Hashable, Sendable, CustomStringConvertible {
    /// Position of the message in the batch given to `KafkaProducer.send(_:)`.
    public let index: Int
    public let topic: String
    public let code: KafkaErrorCode

    public init(index: Int, topic: String, code: KafkaErrorCode) {
        self.index = index
        self.topic = topic
        self.code = code
    }

    public var description: String { "message \(index) to '\(topic)': \(code)" }
}

/// What went wrong in the Kafka wrappers: typed, with what, where and how to fix.
public enum KafkaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A configuration value was rejected before or by librdkafka; `key` is the librdkafka key.
    case invalidConfiguration(key: String, reason: String)
    /// `rd_kafka_new` failed.
    case clientCreationFailed(reason: String)
    /// A librdkafka call returned an error.
    case operationFailed(operation: String, code: KafkaErrorCode)
    /// Some messages of a batch were not acknowledged (after librdkafka's own retries).
    case deliveryFailed(failures: [KafkaDeliveryFailure], batchSize: Int)
    /// An operation did not finish in time.
    case timeout(operation: String, after: Duration)
    /// The client was closed before or during the call.
    case closed
    /// The calling task was cancelled before the operation finished (it may still finish).
    case cancelled(operation: String)
    /// The client hit a fatal error (`rd_kafka_fatal_error`): `code` is the underlying error,
    /// `reason` librdkafka's text. Nothing it is asked to do will succeed any more; the process
    /// must create a new client (in practice: exit, and let its supervisor restart it).
    case fatal(code: KafkaErrorCode, reason: String)

    /// Whether the client that raised this error is dead for good: a `fatal` error, or a failure
    /// whose code is `_FATAL`. Retrying such an error never succeeds.
    public var isFatal: Bool {
        switch self {
        case .fatal: true
        case .operationFailed(_, let code): code.isFatal
        case .deliveryFailed(let failures, _): failures.contains { $0.code.isFatal }
        case .invalidConfiguration, .clientCreationFailed, .timeout, .closed, .cancelled: false
        }
    }

    public var description: String {
        switch self {
        case .invalidConfiguration(let key, let reason):
            "invalid Kafka configuration '\(key)': \(reason)"
        case .clientCreationFailed(let reason):
            "cannot create the Kafka client: \(reason)"
        case .operationFailed(let operation, let code):
            "Kafka \(operation) failed: \(code)"
        case .deliveryFailed(let failures, let batchSize):
            "\(failures.count) of \(batchSize) messages were not acknowledged by the broker; first: \(failures.first.map(\.description) ?? "none")"
        case .timeout(let operation, let after):
            "Kafka \(operation) did not finish within \(after); is the broker at the bootstrap servers reachable?"
        case .closed:
            "the Kafka client is closed"
        case .cancelled(let operation):
            "Kafka \(operation) was cancelled before it finished"
        case .fatal(let code, let reason):
            "the Kafka client failed fatally (\(code)): \(reason); it cannot recover, restart the process to create a new client"
        }
    }
}
