import Kafka

/// Builds the dead-letter message for an event the engine could not decide: the original bytes
/// as the value (so nothing is lost and it can be replayed once fixed), the original key, and
/// headers saying why and where it came from.
///
/// A dead letter must always fit the producer's `message.max.bytes`: one that does not is refused
/// by librdkafka, and an input that is oversized is exactly what ends up here. So a value longer
/// than `maxValueBytes` (or a key longer than `maxKeyBytes`) is cut to that length and the header
/// `waqiti-original-value-length` (`waqiti-original-key-length`) gives the length it had; the
/// complete message is still on the source topic at the partition and offset the headers name.
public enum DeadLetter {
    public static let errorHeader = "waqiti-error"
    public static let kindHeader = "waqiti-error-kind"
    public static let topicHeader = "waqiti-source-topic"
    public static let partitionHeader = "waqiti-source-partition"
    public static let offsetHeader = "waqiti-source-offset"
    /// Present only on a truncated dead letter: the original value's length in bytes.
    public static let originalValueLengthHeader = "waqiti-original-value-length"
    /// Present only when the key was truncated: the original key's length in bytes.
    public static let originalKeyLengthHeader = "waqiti-original-key-length"

    /// Half the producer's `message.max.bytes` (`KafkaProducerConfiguration.maxMessageBytes`,
    /// 1,000,000): value, key, headers and record framing together stay well below it.
    public static let maxValueBytes = 512 * 1024
    /// Payment keys are account ids; a key this long is itself hostile input.
    public static let maxKeyBytes = 16 * 1024

    public static func message(for source: KafkaConsumerMessage, kind: String, error: String, topic: String) -> OutgoingMessage {
        var headers: [(String, [UInt8])] = [
            (errorHeader, Array(error.utf8)),
            (kindHeader, Array(kind.utf8)),
            (topicHeader, Array(source.topic.utf8)),
            (partitionHeader, Array(String(source.partition).utf8)),
            (offsetHeader, Array(String(source.offset).utf8)),
        ]
        let value = capped(source.value, to: maxValueBytes, header: originalValueLengthHeader, into: &headers)
        let key = source.key.map { capped($0, to: maxKeyBytes, header: originalKeyLengthHeader, into: &headers) }
        return OutgoingMessage(topic: topic, key: key, value: value, headers: headers)
    }

    /// `bytes` cut to `limit`, recording the original length under `header` when cut.
    private static func capped(_ bytes: [UInt8], to limit: Int, header: String, into headers: inout [(String, [UInt8])]) -> [UInt8] {
        guard bytes.count > limit else { return bytes }
        headers.append((header, Array(String(bytes.count).utf8)))
        return Array(bytes.prefix(limit))
    }
}
