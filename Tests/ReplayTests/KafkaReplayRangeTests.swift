import Foundation
import FraudCore
import Kafka
import Replay
import Testing
import LocalStackSupport

/// `KafkaReplaySource` with bounds outside a partition's records, against the local Kafka-protocol
/// broker (Tansu).
@Suite("Kafka replay ranges past a partition's end", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct KafkaReplayRangeTests {
    static func client() throws -> KafkaClientConfiguration {
        KafkaClientConfiguration(brokers: try LocalStack.required("WAQITI_KAFKA_BROKERS"), clientID: "waqiti-replay-range-tests")
    }

    /// A new topic of `partitions` partitions holding `count` events (one producer batch, so
    /// several records per record batch); returns the acknowledged offsets by payment id.
    static func topic(_ stem: String, partitions: Int32, count: Int) async throws -> (name: String, offsets: [String: (partition: Int32, offset: Int64)]) {
        let client = try client()
        let topic = LocalStack.uniqueName(stem)
        #expect(try KafkaAdmin(configuration: client).createTopic(topic, partitions: partitions))
        let encoder = EventEncoder()
        let events = (0..<count).map { index in
            PaymentEvent(
                paymentID: "p\(index)", occurredAt: EventTime(millisecondsSinceEpoch: 1_767_225_600_000 + Int64(index) * 1000),
                accountID: "a\(index % 7)", cardFingerprint: "c", deviceID: "d", ip: "10.0.0.1", merchantID: "m",
                mcc: "5411", amount: Money(minorUnits: 100, currency: .usd), cardCountry: "US", ipCountry: "US", channel: .ecom, type: .payment)
        }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        let acks = try await producer.send(events.map { KafkaProducerMessage(topic: topic, key: Array($0.accountID.utf8), value: encoder.encode($0)) })
        try producer.close()
        var offsets: [String: (Int32, Int64)] = [:]
        for (event, ack) in zip(events, acks) { offsets[event.paymentID] = (ack.partition, ack.offset) }
        return (topic, offsets)
    }

    /// Every payment id the replay returns. A partition that never finishes ends the replay with
    /// the stall error after 10 s of silence, so a regression fails the test instead of hanging.
    static func replay(_ topic: String, from: KafkaReplayBound, to: KafkaReplayBound = .edge) throws -> [String] {
        let source = try KafkaReplaySource(options: .init(client: try client(), topic: topic, from: from, to: to, idleTimeout: .seconds(10)))
        var ids: [String] = []
        while let batch = try source.nextBatch(maxEvents: 16) {
            #expect(batch.errors.isEmpty)
            ids += batch.events.map(\.paymentID)
        }
        return ids
    }

    /// `waqiti replay --kafka-from 1000` on 50 records stalled for 30 s: librdkafka reports the
    /// end of a partition only when its fetch position equals the high watermark, and Tansu answers
    /// a fetch past the end empty, so no partition ever reported its end.
    @Test("a start past every partition's end (an offset, or a time after every record) replays nothing and finishes without a stall", .timeLimit(.minutes(1)))
    func startPastEveryEnd() async throws {
        let (topic, _) = try await Self.topic("replay-past-end", partitions: 3, count: 50)
        #expect(try Self.replay(topic, from: .offset(1000)) == [])
        // An end beyond the start changes nothing when the end is a time.
        let inAnHour = EventTime(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000) + 3_600_000)
        #expect(try Self.replay(topic, from: .offset(1000), to: .time(inAnHour)) == [])
        // A start time after every record's broker timestamp: no partition has a record that late.
        #expect(try Self.replay(topic, from: .time(inAnHour)) == [])
        #expect(try Self.replay(topic, from: .time(inAnHour), to: .time(EventTime(millisecondsSinceEpoch: inAnHour.millisecondsSinceEpoch + 1000))) == [])
    }

    /// Keys spread the records unevenly, so the start is past the smallest partition's end and
    /// before the largest one's.
    @Test("a start past one partition's end replays the other partitions' records from the start, in the same order twice", .timeLimit(.minutes(1)))
    func startPastOnePartitionsEnd() async throws {
        let (topic, offsets) = try await Self.topic("replay-past-one-end", partitions: 3, count: 60)
        let counts = Dictionary(grouping: offsets.values, by: \.partition).mapValues(\.count)
        let smallest = Int64(counts.values.min()!), largest = Int64(counts.values.max()!)
        try #require(largest > smallest + 1, "the keys spread the records too evenly: \(counts)")
        func expected(from start: Int64) -> Set<String> { Set(offsets.filter { $0.value.offset >= start }.keys) }
        let first = try Self.replay(topic, from: .offset(smallest + 1)), second = try Self.replay(topic, from: .offset(smallest + 1))
        #expect(first.count == expected(from: smallest + 1).count)
        #expect(Set(first) == expected(from: smallest + 1))
        #expect(first == second)
        // At the smallest partition's exact end (its end-of-partition comes at the start).
        #expect(Set(try Self.replay(topic, from: .offset(smallest))) == expected(from: smallest))
    }

    @Test("an end before the start is refused before anything is read; an end at the start replays nothing")
    func invertedBounds() async throws {
        let (topic, _) = try await Self.topic("replay-inverted", partitions: 1, count: 5)
        #expect(throws: KafkaReplaySource.InvertedBounds.self) { try Self.replay(topic, from: .offset(3), to: .offset(2)) }
        let early = EventTime(millisecondsSinceEpoch: 1_767_225_600_000)
        #expect(throws: KafkaReplaySource.InvertedBounds.self) { try Self.replay(topic, from: .time(early), to: .time(EventTime(millisecondsSinceEpoch: early.millisecondsSinceEpoch - 1))) }
        #expect(try Self.replay(topic, from: .offset(3), to: .offset(3)) == [])
        #expect(try Self.replay(topic, from: .offset(3), to: .offset(5)) == ["p3", "p4"])
    }
}
