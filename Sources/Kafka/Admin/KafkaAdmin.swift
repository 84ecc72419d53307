import CRdKafka
import Logging

/// Topic administration through librdkafka's Admin API (`CreateTopics`): tests and set-up
/// create their topics with it instead of shelling out to a broker tool.
public final class KafkaAdmin: Sendable {
    private let client: RDKafkaClient

    public init(configuration: KafkaClientConfiguration, logger: Logger = Logger(label: "waqiti.kafka.admin")) throws(KafkaError) {
        client = try RDKafkaClient(
            type: RD_KAFKA_PRODUCER, properties: merged(configuration.properties(), additional: configuration.additionalProperties),
            callbacks: ClientCallbacks(logger: logger))
    }

    /// Creates `name` with `partitions` partitions. Returns false when it already existed and
    /// `ignoreExisting` is set; any other refusal throws.
    @discardableResult
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1, ignoreExisting: Bool = false,
                            timeout: Duration = .seconds(10)) throws(KafkaError) -> Bool {
        var errorText = [CChar](repeating: 0, count: 512)
        guard let topic = rd_kafka_NewTopic_new(name, partitions, replicationFactor, &errorText, errorText.count) else {
            throw .invalidConfiguration(key: "topic \(name)", reason: String(decoding: errorText.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { rd_kafka_NewTopic_destroy(topic) }
        let queue = rd_kafka_queue_new(client.handle)
        defer { rd_kafka_queue_destroy(queue) }
        var topics: [OpaquePointer?] = [topic]
        rd_kafka_CreateTopics(client.handle, &topics, 1, nil, queue)
        guard let event = rd_kafka_queue_poll(queue, Int32(clamping: timeout.milliseconds)) else {
            throw .timeout(operation: "create topic \(name)", after: timeout)
        }
        defer { rd_kafka_event_destroy(event) }
        let requestError = rd_kafka_event_error(event)
        guard requestError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .operationFailed(operation: "create topic \(name)", code: KafkaErrorCode(requestError))
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
              let results = rd_kafka_CreateTopics_result_topics(result, &count), count == 1 else {
            throw .operationFailed(operation: "create topic \(name) (no result)", code: KafkaErrorCode(RD_KAFKA_RESP_ERR__BAD_MSG))
        }
        let code = rd_kafka_topic_result_error(results[0])
        switch code {
        case RD_KAFKA_RESP_ERR_NO_ERROR: return true
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS where ignoreExisting: return false
        default: throw .operationFailed(operation: "create topic \(name)", code: KafkaErrorCode(code))
        }
    }
}
