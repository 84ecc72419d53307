import Kafka

/// Builds the dead-letter message for an event the engine could not decide: the original bytes
/// untouched as the value (so nothing is lost and it can be replayed once fixed), the original
/// key, and headers saying why and where it came from.
public enum DeadLetter {
    public static let errorHeader = "waqiti-error"
    public static let kindHeader = "waqiti-error-kind"
    public static let topicHeader = "waqiti-source-topic"
    public static let partitionHeader = "waqiti-source-partition"
    public static let offsetHeader = "waqiti-source-offset"

    public static func message(for source: KafkaConsumerMessage, kind: String, error: String, topic: String) -> OutgoingMessage {
        OutgoingMessage(topic: topic, key: source.key, value: source.value, headers: [
            (errorHeader, Array(error.utf8)),
            (kindHeader, Array(kind.utf8)),
            (topicHeader, Array(source.topic.utf8)),
            (partitionHeader, Array(String(source.partition).utf8)),
            (offsetHeader, Array(String(source.offset).utf8)),
        ])
    }
}
