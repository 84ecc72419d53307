import Engine
import Features
import Kafka
import FraudCore
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Test double of the consumer: hands out preloaded messages, then nothing; records commits.
final class ScriptedSource: MessageSource {
    private let state: Mutex<(pending: [KafkaConsumerMessage], commits: [[PartitionOffset]])>
    init(_ messages: [KafkaConsumerMessage]) { state = Mutex((messages, [])) }

    var commits: [[PartitionOffset]] { state.withLock { $0.commits } }
    var drained: Bool { state.withLock { $0.pending.isEmpty } }

    func poll(maxMessages: Int, linger: Duration) async throws -> [KafkaConsumerMessage] {
        let batch = state.withLock { state in
            let batch = Array(state.pending.prefix(maxMessages))
            state.pending.removeFirst(batch.count)
            return batch
        }
        if batch.isEmpty { try await Task.sleep(for: linger) }
        return batch
    }

    func commit(_ offsets: [PartitionOffset]) async throws {
        state.withLock { $0.commits.append(offsets) }
    }
}

/// Test double of the producer: fails the first `failures` sends, then records what it is given.
final class RecordingSink: MessageSink {
    struct SendFailed: Error {}
    private let state: Mutex<(sent: [OutgoingMessage], failuresLeft: Int, attempts: Int)>
    init(failures: Int = 0) { state = Mutex(([], failures, 0)) }

    var sent: [OutgoingMessage] { state.withLock { $0.sent } }
    var attempts: Int { state.withLock { $0.attempts } }

    func send(_ messages: [OutgoingMessage]) async throws {
        try state.withLock { state in
            state.attempts += 1
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                throw SendFailed()
            }
            state.sent += messages
        }
    }
}

private func eventJSON(_ id: String, card: String = "card-1") -> [UInt8] {
    Array("""
    {"payment_id":"\(id)","occurred_at":"2026-11-29T08:00:00.000Z","account_id":"acct-1","card_fingerprint":"\(card)","device_id":"dev-1","ip":"203.0.113.7","merchant_id":"m-1","mcc":"5411","amount_minor":5000,"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment"}
    """.utf8)
}

private func message(_ offset: Int64, partition: Int32 = 0, _ value: [UInt8]) -> KafkaConsumerMessage {
    KafkaConsumerMessage(topic: "payments", partition: partition, offset: offset, key: Array("acct-1".utf8), value: value)
}

@Suite("StreamingPipeline")
struct StreamingPipelineTests {
    private func run(_ source: ScriptedSource, _ sink: RecordingSink, batch: Int = 3) async throws {
        var configuration = EngineConfiguration()
        configuration.batching.maxEvents = batch
        configuration.batching.linger = EventDuration(milliseconds: 1)
        configuration.kafka.maxMessageBytes = 1024
        let rules = try compileTestRules()
        let engine = DecisionEngine(
            rules: { rules }, model: { nil },
            features: FeatureRouter(local: CountingStore(), shared: nil, storeOf: { _ in .memory }, probeInterval: .seconds(1), logger: Logger(label: "test")),
            cache: InMemoryDecisionCache(capacity: 100), degradedPolicy: .decide
        )
        let pipeline = StreamingPipeline(source: source, sink: sink, engine: engine, settings: .init(configuration: configuration), logger: Logger(label: "test"))
        let group = ServiceGroup(configuration: .init(services: [pipeline], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Wait (bounded) until everything polled is committed, then shut down like SIGTERM.
            for _ in 0..<500 where !(source.drained && source.commits.last?.contains { $0.nextOffset == 6 } == true) {
                try await Task.sleep(for: .milliseconds(10))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("decisions keyed by payment_id, bad input dead-lettered with its origin, offsets committed after delivery")
    func endToEnd() async throws {
        let source = ScriptedSource([
            message(0, eventJSON("p1")),
            message(1, Array("{not json".utf8)),
            message(2, eventJSON("p2")),
            message(3, eventJSON("p1")),
            message(4, [UInt8](repeating: UInt8(ascii: " "), count: 2000)),
            message(5, eventJSON("p3")),
        ])
        let sink = RecordingSink(failures: 1)
        try await run(source, sink)

        let decisions = sink.sent.filter { $0.topic == "fraud-decisions" }
        #expect(decisions.map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["p1", "p2", "p1", "p3"])
        #expect(decisions[0].value == decisions[2].value, "a redelivered payment gets the identical decision")
        let letters = sink.sent.filter { $0.topic == "payments-dlq" }
        #expect(letters.count == 2)
        #expect(letters.map(\.value) == [Array("{not json".utf8), [UInt8](repeating: UInt8(ascii: " "), count: 2000)])
        let headers = letters.map { Dictionary(uniqueKeysWithValues: $0.headers.map { ($0.0, String(decoding: $0.1, as: UTF8.self)) }) }
        #expect(headers.map { $0["waqiti-source-offset"] } == ["1", "4"])
        #expect(headers.map { $0["waqiti-source-partition"] } == ["0", "0"])
        #expect(headers[1]["waqiti-error"] == "message of 2000 bytes exceeds kafka.max_message_bytes (1024)")
        #expect(headers[1]["waqiti-error-kind"] == "oversized")
        #expect(sink.attempts == 3, "the first send failed and was retried before anything was committed")
        #expect(source.commits == [
            [PartitionOffset(topic: "payments", partition: 0, nextOffset: 3)],
            [PartitionOffset(topic: "payments", partition: 0, nextOffset: 6)],
        ])
    }
}
