import Testing
@testable import Kafka

@Suite("Kafka offsets and ranges")
struct KafkaOffsetTests {
    static func message(_ partition: Int32, _ offset: Int64) -> KafkaConsumerMessage {
        KafkaConsumerMessage(topic: "payments", partition: partition, offset: offset, key: nil, value: [], headers: [], timestampMilliseconds: nil)
    }

    @Test("The offsets to commit are one past the highest offset per partition")
    func nextOffsets() {
        let batch = KafkaConsumerBatch(messages: [Self.message(2, 7), Self.message(0, 3), Self.message(2, 9), Self.message(0, 4)])
        #expect(batch.nextOffsets == [
            KafkaTopicPartitionOffset(topic: "payments", partition: 0, offset: 5),
            KafkaTopicPartitionOffset(topic: "payments", partition: 2, offset: 10),
        ])
    }

    @Test("Bounded ranges accept offsets below their end and complete at the last one")
    func ranges() {
        let p0 = KafkaTopicPartition(topic: "payments", partition: 0)
        let p1 = KafkaTopicPartition(topic: "payments", partition: 1)
        var progress = RangeProgress([
            KafkaPartitionRange(topic: "payments", partition: 0, start: .offset(10), end: 12),
            KafkaPartitionRange(topic: "payments", partition: 1, start: .beginning, end: 1),
            KafkaPartitionRange(topic: "payments", partition: 2, start: .offset(5), end: 5),
        ])
        #expect(!progress.isComplete)
        let first = progress.accept(p0, offset: 10)
        #expect(!progress.isComplete)
        let accepted = [first, progress.accept(p0, offset: 11), progress.accept(p0, offset: 12)]
        #expect(accepted == [true, true, false])
        #expect(!progress.isComplete)
        progress.reachedEnd(p1, offset: 1)
        #expect(progress.isComplete)
    }

    @Test("Unbounded reads never complete")
    func unbounded() {
        var progress = RangeProgress([KafkaPartitionRange(topic: "t", partition: 0, start: .beginning)])
        let accepted = progress.accept(KafkaTopicPartition(topic: "t", partition: 0), offset: 1_000_000)
        #expect(accepted)
        #expect(!progress.isComplete)
    }

    @Test("A delivery opaque carries batch id and index through a pointer")
    func opaque() {
        let tracker = DeliveryTracker()
        let batch = tracker.open(count: 3)
        let pointer = DeliveryTracker.opaque(batch: batch, index: 2)
        #expect(UInt(bitPattern: pointer) == UInt(batch) << 32 | 2)
    }

    @Test("Error codes carry librdkafka's names")
    func errorCodes() {
        #expect(KafkaErrorCode.messageTimedOut.name == "_MSG_TIMED_OUT")
        #expect(KafkaErrorCode.noOffset.name == "_NO_OFFSET")
        #expect(KafkaErrorCode.unknownTopicOrPartition.description == "UNKNOWN_TOPIC_OR_PART: Broker: Unknown topic or partition")
    }
}
