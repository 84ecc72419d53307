import Foundation
import FraudCore
import Kafka
import Replay
import Testing
import LocalStackSupport

/// `waqiti replay --kafka-topic`: reading a stretch of a topic without a consumer group, against
/// the Tansu broker that scripts/test starts.
@Suite("Kafka replay source against the Tansu broker", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct KafkaReplayIntegrationTests {
    @Test("a topic read between offsets replays the same events in the same order twice, bad records reported")
    func replayBetweenOffsets() async throws {
        let client = KafkaClientConfiguration(brokers: try LocalStack.required("WAQITI_KAFKA_BROKERS"), clientID: "waqiti-replay-tests")
        let topic = LocalStack.uniqueName("replay")
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

    /// Session 3 saw "from a time to the end" return 42 of 80 records: the end came from Tansu's
    /// latest-offset answer (one past the first record of the last batch). Every record here is
    /// sent in two bursts (several records per batch and partition), with the broker's clock
    /// between them as the time bound.
    @Test("a topic read between broker times returns exactly the records of each stretch, to the end included")
    func replayBetweenTimes() async throws {
        let client = KafkaClientConfiguration(brokers: try LocalStack.required("WAQITI_KAFKA_BROKERS"), clientID: "waqiti-replay-tests")
        let topic = LocalStack.uniqueName("replay-times")
        #expect(try KafkaAdmin(configuration: client).createTopic(topic, partitions: 3))
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        let encoder = EventEncoder()
        // The late burst is dated after the early one: the replay merges partitions on event time.
        func send(_ ids: [String], from start: Int64) async throws {
            let messages = ids.enumerated().map { index, id in
                let event = PaymentEvent(
                    paymentID: id, occurredAt: EventTime(millisecondsSinceEpoch: start + Int64(index) * 1000),
                    accountID: "a\(index % 7)", cardFingerprint: "c", deviceID: "d", ip: "10.0.0.1", merchantID: "m",
                    mcc: "5411", amount: Money(minorUnits: 100, currency: .usd), cardCountry: "US", ipCountry: "US", channel: .ecom, type: .payment)
                return KafkaProducerMessage(topic: topic, key: Array(event.accountID.utf8), value: encoder.encode(event))
            }
            #expect(try await producer.send(messages).count == ids.count)
        }
        let early = (0..<40).map { "early-\($0)" }, late = (0..<80).map { "late-\($0)" }
        try await send(early, from: 1_767_225_600_000)
        try await Task.sleep(for: .milliseconds(1_500))
        let between = EventTime(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000))
        try await Task.sleep(for: .milliseconds(1_500))
        try await send(late, from: 1_767_225_700_000)
        try producer.close()

        func replay(from: KafkaReplayBound, to: KafkaReplayBound) throws -> [String] {
            let source = try KafkaReplaySource(options: .init(client: client, topic: topic, from: from, to: to, idleTimeout: .seconds(20)))
            var ids: [String] = []
            while let batch = try source.nextBatch(maxEvents: 32) {
                #expect(batch.errors.isEmpty)
                ids += batch.events.map(\.paymentID)
            }
            return ids
        }
        let toEnd = try replay(from: .time(between), to: .edge)
        #expect(toEnd.count == 80)
        #expect(Set(toEnd) == Set(late))
        let beforeTime = try replay(from: .edge, to: .time(between))
        #expect(beforeTime.count == 40)
        #expect(Set(beforeTime) == Set(early))
        let everything = try replay(from: .edge, to: .edge)
        #expect(everything.count == 120)
        #expect(Set(everything) == Set(early + late))
        // Merged by event time (each partition's records stay in offset order): every early record,
        // dated before every late one, comes first.
        #expect(Array(everything.prefix(40)) == beforeTime)
        #expect(Array(everything.suffix(80)) == toEnd)
        #expect(try replay(from: .time(between), to: .edge) == toEnd)
    }
}
