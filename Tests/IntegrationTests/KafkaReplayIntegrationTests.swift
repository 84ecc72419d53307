import FraudCore
import Kafka
import Replay
import Testing

/// `waqiti replay --kafka-topic`: reading a stretch of a topic without a consumer group, against
/// the Tansu broker that scripts/test starts.
@Suite("Kafka replay source against the Tansu broker", .enabled(if: IntegrationEnvironment.isEnabled, IntegrationEnvironment.skipMessage))
struct KafkaReplayIntegrationTests {
    @Test("a topic read between offsets replays the same events in the same order twice, bad records reported")
    func replayBetweenOffsets() async throws {
        let client = KafkaClientConfiguration(brokers: try IntegrationEnvironment.required("WAQITI_KAFKA_BROKERS"), clientID: "waqiti-replay-tests")
        let topic = IntegrationEnvironment.uniqueName("replay")
        #expect(try KafkaAdmin(configuration: client).createTopic(topic, partitions: 3))
        let encoder = EventEncoder()
        var messages: [KafkaProducerMessage] = []
        for index in 0..<600 {
            let event = PaymentEvent(
                paymentID: "p\(index)", occurredAt: EventTime(millisecondsSinceEpoch: 1_767_225_600_000 + Int64(index) * 1000),
                accountID: "a\(index % 30)", cardFingerprint: "c\(index % 40)", deviceID: "d", ip: "10.0.0.1", merchantID: "m",
                mcc: "5411", amount: Money(minorUnits: 100, currency: .usd), cardCountry: "US", ipCountry: "US", channel: .ecom, type: .payment)
            let value = index == 300 ? Array("not json".utf8) : encoder.encode(event)
            messages.append(KafkaProducerMessage(topic: topic, key: Array(event.accountID.utf8), value: value))
        }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        let acks = try await producer.send(messages)
        try producer.close()
        let perPartition = Dictionary(grouping: acks, by: \.partition).mapValues(\.count)

        func replay() throws -> (ids: [String], errors: Int) {
            let source = try KafkaReplaySource(options: .init(client: client, topic: topic, partitions: perPartition.keys.sorted(), from: .offset(0), to: .offset(Int64(perPartition.values.min()!))))
            var ids: [String] = [], errors = 0
            while let batch = try source.nextBatch(maxEvents: 64) {
                ids += batch.events.map(\.paymentID)
                errors += batch.errors.count
            }
            return (ids, errors)
        }
        let first = try replay(), second = try replay()
        let expectedCount = perPartition.count * perPartition.values.min()!
        // Acknowledgements come in message order: the bad record is inside the range or not.
        let badInRange = acks[300].offset < Int64(perPartition.values.min()!) ? 1 : 0
        #expect(first.errors == badInRange)
        #expect(first.ids.count + first.errors == expectedCount)
        #expect(first.ids == second.ids)
        #expect(Set(first.ids).count == first.ids.count)
    }
}
