import Foundation
import FraudCore
import Kafka
import Replay
import Simulation
import Testing
import LocalStackSupport

/// A topic replays in event time, as a file of the same events sorted by time does, against the
/// local Kafka-protocol broker (Tansu).
@Suite("Kafka replay in event-time order", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .serialized, .temporaryFolder)
struct KafkaReplayOrderTests {
    /// Produced all at once (a backfill), the records' broker timestamps are about equal, so the
    /// merge on the broker timestamp put them in partition order, and 31 of 3,000 decisions
    /// differed from the file's. Merged on `occurred_at` (then partition, then offset), the topic
    /// gives the file's decisions byte for byte.
    @Test("a backfilled 3-partition topic replays to the decisions of the same events from a file, byte for byte", .timeLimit(.minutes(2)))
    func topicDecidesAsTheFile() async throws {
        var delivery = try SimulatedDelivery(SimulationConfiguration(events: 3_000, seed: 11, fraudRate: 0.02))
        // In event time (stable), so every partition is in event time too.
        let events = Array(AnyIterator { delivery.next() }).enumerated()
            .sorted { ($0.element.occurredAt, $0.offset) < ($1.element.occurredAt, $1.offset) }.map(\.element)

        let client = KafkaClientConfiguration(brokers: try LocalStack.required("WAQITI_KAFKA_BROKERS"), clientID: "waqiti-replay-order-tests")
        let topic = LocalStack.uniqueName("replay-event-time")
        #expect(try KafkaAdmin(configuration: client).createTopic(topic, partitions: 3))
        let encoder = EventEncoder()
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        let acks = try await producer.send(events.map { KafkaProducerMessage(topic: topic, key: Array($0.accountID.utf8), value: encoder.encode($0)) })
        try producer.close()
        #expect(Set(acks.map(\.partition)).count == 3)

        // The file: the same events in the merge's order, (occurred_at, partition, offset).
        let placed = zip(events, acks).sorted {
            ($0.0.occurredAt.millisecondsSinceEpoch, $0.1.partition, $0.1.offset) < ($1.0.occurredAt.millisecondsSinceEpoch, $1.1.partition, $1.1.offset)
        }
        let file = try EngineReplayTests.write(placed.map(\.0), to: "same-events.jsonl")
        // Where the broker's order (the old merge) differs from event time, so the test can fail.
        let byBroker = zip(events, acks).sorted { ($0.1.partition, $0.1.offset) < ($1.1.partition, $1.1.offset) }
        #expect(byBroker.map(\.0.paymentID) != placed.map(\.0.paymentID))

        let scoring = try EngineReplayTests.defaultScoring()
        let fromFile = TemporaryFolder.current.path("file.decisions.jsonl"), fromTopic = TemporaryFolder.current.path("topic.decisions.jsonl")
        _ = try await EngineReplayTests.replay(EngineReplaySetup(baseline: scoring), input: file, decisionsOut: fromFile)

        let source = try KafkaReplaySource(options: .init(client: client, topic: topic, idleTimeout: .seconds(20)))
        var (replay, _) = EngineReplaySetup(baseline: scoring).make()
        replay.batchSize = 500
        let output = try FileOutput(path: fromTopic)
        let result = try await replay.run(from: { try source.nextBatch(maxEvents: $0) }, decisionsOut: output)
        try output.close()

        #expect(result.baseline.summary.events == 3_000)
        #expect(result.baseline.summary.rejected == 0)
        let a = try Data(contentsOf: URL(fileURLWithPath: fromFile)), b = try Data(contentsOf: URL(fileURLWithPath: fromTopic))
        #expect(a.count > 1_000_000)
        #expect(a == b)

        // The order matters on these events: in partition order (the broker-timestamp merge of a
        // backfill), some payments are decided differently.
        let inPartitionOrder = TemporaryFolder.current.path("partition-order.decisions.jsonl")
        _ = try await EngineReplayTests.replay(EngineReplaySetup(baseline: scoring), input: try EngineReplayTests.write(byBroker.map(\.0), to: "partition-order.jsonl"), decisionsOut: inPartitionOrder)
        func outcomes(_ path: String) throws -> [String: Outcome] {
            Dictionary(try ReplayLoopTests.decisions(at: path).map { ($0.paymentID, $0.outcome) }, uniquingKeysWith: { first, _ in first })
        }
        let eventTime = try outcomes(fromTopic), partitionOrder = try outcomes(inPartitionOrder)
        #expect(eventTime.filter { partitionOrder[$0.key] != $0.value }.count > 0)
    }
}
