import Testing
@testable import Replay

/// The messages a Kafka replay stops with when the topic or a partition is not on the brokers.
@Suite("Kafka replay topic errors")
struct KafkaTopicErrorTests {
    typealias TopicError = KafkaReplaySource.TopicError

    @Test("partitions are listed as ranges", arguments: [
        ([0, 1, 2], "0-2"), ([0], "0"), ([0, 2, 5, 6, 7], "0,2,5-7"), ([3, 4, 9], "3-4,9"),
    ] as [([Int32], String)])
    func ranges(partitions: [Int32], text: String) {
        #expect(TopicError.ranges(partitions) == text)
    }

    @Test("each error names the topic, what is missing and how to go on")
    func descriptions() {
        #expect(TopicError.unknownTopic(topic: "payments", brokers: "127.0.0.1:19092").description
            == "Kafka topic 'payments' does not exist on the brokers at 127.0.0.1:19092; check --kafka-topic (and --kafka-brokers)")
        #expect(TopicError.unknownPartitions(topic: "payments", missing: [7, 9], existing: [0, 1, 2]).description
            == "--kafka-partitions names partitions 7,9, which Kafka topic 'payments' does not have: its partitions are 0-2; give partitions that exist, or drop --kafka-partitions to replay every partition")
        #expect(TopicError.noPartitionsRequested(topic: "payments").description
            == "an empty list of partitions of Kafka topic 'payments' replays nothing; name partitions, or none to replay every partition")
        #expect(TopicError.metadataUnavailable(topic: "payments", brokers: "127.0.0.1:9", reason: "Kafka metadata of topic payments failed: _TRANSPORT: Broker transport failure").description
            == "cannot read which partitions Kafka topic 'payments' has from the brokers at 127.0.0.1:9 (Kafka metadata of topic payments failed: _TRANSPORT: Broker transport failure); check that they are reachable (--kafka-brokers)")
    }
}
