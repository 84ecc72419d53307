import Engine
import Features
@testable import Kafka
import FraudCore
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import LocalStackSupport

/// Test double of the consumer: hands out preloaded messages, then nothing; records commits and,
/// through `acknowledged`, how many messages the sink had acknowledged when each was made.
final class ScriptedSource: MessageSource {
    struct Commit: Equatable {
        var offsets: [PartitionOffset]
        var mode: KafkaCommitMode
        var acknowledgedMessages: Int
    }

    private let state: Mutex<(pending: [KafkaConsumerMessage], commits: [Commit])>
    private let acknowledged: @Sendable () -> Int
    init(_ messages: [KafkaConsumerMessage], acknowledged: @escaping @Sendable () -> Int = { 0 }) {
        state = Mutex((messages, []))
        self.acknowledged = acknowledged
    }

    var commits: [Commit] { state.withLock { $0.commits } }
    var drained: Bool { state.withLock { $0.pending.isEmpty } }
    var remaining: Int { state.withLock { $0.pending.count } }

    func poll(maxMessages: Int, linger: Duration) async throws -> [KafkaConsumerMessage] {
        let batch = state.withLock { state in
            let batch = Array(state.pending.prefix(maxMessages))
            state.pending.removeFirst(batch.count)
            return batch
        }
        if batch.isEmpty { try await Task.sleep(for: linger) }
        return batch
    }

    /// What `assignedPartitions()` answers; nil: unknown, as a source that does not track it.
    let assigned = Mutex<Set<KafkaTopicPartition>?>(nil)
    func assignedPartitions() -> Set<KafkaTopicPartition>? { assigned.withLock { $0 } }

    /// What `assignmentEpoch(of:)` answers (0 for a partition not in it); nil: the source does not
    /// track epochs.
    let epochs = Mutex<[KafkaTopicPartition: UInt64]?>(nil)
    func assignmentEpoch(of partition: KafkaTopicPartition) -> UInt64? { epochs.withLock { $0.map { $0[partition] ?? 0 } } }

    /// More messages for later polls (a test's next phase).
    func append(_ messages: [KafkaConsumerMessage]) { state.withLock { $0.pending += messages } }

    func commit(_ offsets: [PartitionOffset], mode: KafkaCommitMode) async throws {
        let acknowledged = acknowledged()
        state.withLock { $0.commits.append(Commit(offsets: offsets, mode: mode, acknowledgedMessages: acknowledged)) }
    }
}

/// Test double of the producer: the first `failures` deliveries fail (as if the broker rejected
/// them), later ones are acknowledged; records what was enqueued and what was acknowledged.
final class RecordingSink: MessageSink {
    struct SendFailed: Error {}
    private let state: Mutex<(sent: [OutgoingMessage], failuresLeft: Int, attempts: Int)>
    init(failures: Int = 0) { state = Mutex(([], failures, 0)) }

    /// Acknowledged messages, in acknowledgement order.
    var sent: [OutgoingMessage] { state.withLock { $0.sent } }
    var attempts: Int { state.withLock { $0.attempts } }

    func enqueue(_ messages: [OutgoingMessage]) async throws -> PendingDelivery {
        state.withLock { $0.attempts += 1 }
        return PendingDelivery { [self] in
            try state.withLock { state in
                if state.failuresLeft > 0 {
                    state.failuresLeft -= 1
                    throw SendFailed()
                }
                state.sent += messages
            }
        }
    }
}

/// Test double of the producer that, like librdkafka with a message over `message.max.bytes`,
/// fails the messages `refuses` picks with a code that refuses them for good, on every attempt;
/// with `timeOutFirst`, the first attempt also times out its first decision (worth a retry).
final class RefusingSink: MessageSink {
    private let refuses: @Sendable (OutgoingMessage) -> Bool
    private let timeOutFirst: Bool
    private let state = Mutex<(sent: [OutgoingMessage], enqueued: [[OutgoingMessage]])>(([], []))
    init(timeOutFirst: Bool = false, refuses: @escaping @Sendable (OutgoingMessage) -> Bool) {
        self.refuses = refuses
        self.timeOutFirst = timeOutFirst
    }

    /// Acknowledged messages, in acknowledgement order.
    var sent: [OutgoingMessage] { state.withLock { $0.sent } }
    var enqueued: [[OutgoingMessage]] { state.withLock { $0.enqueued } }

    func enqueue(_ messages: [OutgoingMessage]) async throws -> PendingDelivery {
        let attempt = state.withLock { state in
            state.enqueued.append(messages)
            return state.enqueued.count
        }
        return PendingDelivery { [self] in
            var failures: [KafkaDeliveryFailure] = []
            for (index, message) in messages.enumerated() {
                if refuses(message) {
                    failures.append(KafkaDeliveryFailure(index: index, topic: message.topic, code: .messageSizeTooLarge))
                } else if timeOutFirst, attempt == 1, message.topic == "fraud-decisions", !failures.contains(where: { $0.code == .messageTimedOut }) {
                    failures.append(KafkaDeliveryFailure(index: index, topic: message.topic, code: .messageTimedOut))
                } else {
                    state.withLock { $0.sent.append(message) }
                }
            }
            if !failures.isEmpty { throw KafkaError.deliveryFailed(failures: failures, batchSize: messages.count) }
        }
    }
}

/// Test double of the producer whose acknowledgements the test releases, batch by batch, in any
/// order: shows what the pipeline does while the broker has not answered.
final class GatedSink: MessageSink {
    private let state = Mutex<(batches: [[OutgoingMessage]], released: Set<Int>)>(([], []))

    /// Batches handed to the producer so far, in order.
    var enqueued: [[OutgoingMessage]] { state.withLock { $0.batches } }
    /// Messages of the batches released so far: what the broker has acknowledged.
    var acknowledgedMessages: Int {
        // A batch may be released before it exists; it counts once it is enqueued.
        state.withLock { state in state.released.filter { $0 < state.batches.count }.reduce(0) { $0 + state.batches[$1].count } }
    }

    func release(_ batch: Int) { state.withLock { _ = $0.released.insert(batch) } }
    func isReleased(_ batch: Int) -> Bool { state.withLock { $0.released.contains(batch) } }

    /// Acknowledgements the pipeline has received (its waits that returned).
    var acknowledgementsTaken: Int { taken.withLock { $0 } }
    private let taken = Mutex(0)

    func enqueue(_ messages: [OutgoingMessage]) async throws -> PendingDelivery {
        let index = state.withLock { state in
            state.batches.append(messages)
            return state.batches.count - 1
        }
        return PendingDelivery { [self] in
            while !state.withLock({ $0.released.contains(index) }) { try await Task.sleep(for: .milliseconds(2)) }
            taken.withLock { $0 += 1 }
        }
    }
}

/// Test double of a producer that hit a fatal error (librdkafka's `_FATAL`, after which every
/// produce fails the same way): every delivery fails with `failure`; counts the attempts.
final class FatalSink: MessageSink {
    private let failure: KafkaError
    private let state = Mutex(0)
    init(failure: KafkaError) { self.failure = failure }

    var attempts: Int { state.withLock { $0 } }

    func enqueue(_ messages: [OutgoingMessage]) async throws -> PendingDelivery {
        state.withLock { $0 += 1 }
        return PendingDelivery { [failure] in throw failure }
    }
}

/// Runs `body` and returns what it threw (nil if it returned); records a failure and cancels it
/// if it is still running after `limit`.
func outcome(within limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async -> (any Error)? {
    await withTaskGroup(of: (any Error)??.self) { group in
        group.addTask {
            do { try await body(); return .some(nil) } catch { return .some(error) }
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        let first = await group.next()!
        group.cancelAll()
        guard let finished = first else {
            Issue.record("still running after \(limit)")
            return await group.next()! ?? nil
        }
        return finished
    }
}

private func eventJSON(_ id: String, card: String = "card-1") -> [UInt8] {
    Array("""
    {"payment_id":"\(id)","occurred_at":"2026-11-29T08:00:00.000Z","account_id":"acct-1","card_fingerprint":"\(card)","device_id":"dev-1","ip":"203.0.113.7","merchant_id":"m-1","mcc":"5411","amount_minor":5000,"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment"}
    """.utf8)
}

private func message(_ offset: Int64, partition: Int32 = 0, epoch: UInt64 = 0, _ value: [UInt8]) -> KafkaConsumerMessage {
    KafkaConsumerMessage(topic: "payments", partition: partition, offset: offset, key: Array("acct-1".utf8), value: value, assignmentEpoch: epoch)
}

@Suite("StreamingPipeline")
struct StreamingPipelineTests {
    /// `mergeBatches` is 1 unless a test is about merging: the others assert exact batches.
    private func pipeline(
        _ source: ScriptedSource, _ sink: some MessageSink, batch: Int = 3, maxInFlight: Int = 8, mergeBatches: Int = 1,
        logger: Logger = Logger(label: "test"), configure: (inout EngineConfiguration) -> Void = { _ in }
    ) throws -> StreamingPipeline {
        var configuration = EngineConfiguration()
        configure(&configuration)
        configuration.batching.maxEvents = batch
        configuration.batching.linger = EventDuration(milliseconds: 1)
        configuration.batching.maxInFlight = maxInFlight
        configuration.kafka.maxMessageBytes = 1024
        let rules = try compileTestRules()
        let engine = DecisionEngine(
            rules: { rules }, model: { nil },
            features: FeatureRouter(local: CountingStore(), shared: nil, storeOf: { _ in .memory }, probeInterval: .seconds(1), logger: Logger(label: "test")),
            cache: InMemoryDecisionCache(capacity: 100), degradedPolicy: .decide
        )
        var settings = StreamingPipeline.Settings(configuration: configuration)
        settings.maxMergedBatches = mergeBatches
        return StreamingPipeline(source: source, sink: sink, engine: engine, settings: settings, logger: logger)
    }

    /// Runs the pipeline until `done` holds (bounded), then shuts it down like SIGTERM.
    private func run(_ pipeline: StreamingPipeline, until done: @escaping @Sendable () -> Bool) async throws {
        let group = ServiceGroup(configuration: .init(services: [pipeline], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for _ in 0..<500 where !done() { try await Task.sleep(for: .milliseconds(10)) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    private func run(_ source: ScriptedSource, _ sink: RecordingSink, batch: Int = 3) async throws {
        try await run(pipeline(source, sink, batch: batch)) {
            source.drained && source.commits.last?.offsets.contains { $0.nextOffset == 6 } == true
        }
    }

    /// What the pipeline published: decisions, dead letters, and each dead letter's headers.
    private static func published(_ sink: RecordingSink) -> (decisions: [OutgoingMessage], letters: [OutgoingMessage], headers: [[String: String]]) {
        let letters = sink.sent.filter { $0.topic == "payments-dlq" }
        let headers = letters.map { Dictionary(uniqueKeysWithValues: $0.headers.map { ($0.0, String(decoding: $0.1, as: UTF8.self)) }) }
        return (sink.sent.filter { $0.topic == "fraud-decisions" }, letters, headers)
    }

    @Test("decisions keyed by payment_id, bad input dead-lettered with its origin, offsets committed after delivery")
    func endToEnd() async throws {
        let sink = RecordingSink(failures: 1)
        let source = ScriptedSource([
            message(0, eventJSON("p1")),
            message(1, Array("{not json".utf8)),
            message(2, eventJSON("p2")),
            message(3, eventJSON("p1")),
            message(4, [UInt8](repeating: UInt8(ascii: " "), count: 2000)),
            message(5, eventJSON("p3")),
        ], acknowledged: { sink.sent.count })
        try await run(source, sink)

        let (decisions, letters, headers) = Self.published(sink)
        #expect(decisions.map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["p1", "p2", "p1", "p3"])
        #expect(decisions[0].value == decisions[2].value, "a redelivered payment gets the identical decision")
        #expect(letters.count == 2)
        #expect(letters.map(\.value) == [Array("{not json".utf8), [UInt8](repeating: UInt8(ascii: " "), count: 2000)])
        #expect(headers.map { $0["waqiti-source-offset"] } == ["1", "4"])
        #expect(headers.map { $0["waqiti-source-partition"] } == ["0", "0"])
        #expect(headers[1]["waqiti-error"] == "message of 2000 bytes exceeds kafka.max_message_bytes (1024)")
        #expect(headers[1]["waqiti-error-kind"] == "oversized")
        #expect(sink.attempts == 3, "the first delivery failed and its batch was published again")
        // Every message here comes from exactly one input offset, so a commit is after delivery
        // exactly when it names no offset beyond the acknowledged messages.
        for commit in source.commits {
            #expect(commit.offsets.count == 1 && commit.offsets[0].nextOffset <= commit.acknowledgedMessages, "\(commit)")
        }
        #expect(source.commits.last == ScriptedSource.Commit(
            offsets: [PartitionOffset(topic: "payments", partition: 0, nextOffset: 6)], mode: .sync, acknowledgedMessages: 6),
            "the last commit, on shutdown, waits for the broker")
    }

    @Test("a payment_id already decided for another event is dead-lettered with the reason and its bytes, not answered; a redelivery is answered")
    func reusedPaymentIDDeadLettered() async throws {
        let sink = RecordingSink()
        let reused = Array(String(decoding: eventJSON("p1"), as: UTF8.self).replacing("\"amount_minor\":5000", with: "\"amount_minor\":7700").utf8)
        let source = ScriptedSource([
            message(0, eventJSON("p1")),
            message(1, eventJSON("p2")),
            message(2, eventJSON("p1")),
            // Same time as p1, another amount: the same batch as p1's redelivery, and alone.
            message(3, reused),
            message(4, eventJSON("p3")),
            message(5, reused),
        ], acknowledged: { sink.sent.count })
        try await run(source, sink)

        let (decisions, letters, headers) = Self.published(sink)
        #expect(decisions.map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["p1", "p2", "p1", "p3"])
        #expect(decisions[0].value == decisions[2].value, "a redelivered payment gets the identical decision")
        #expect(letters.map(\.value) == [reused, reused], "the second payment's bytes, as they arrived")
        #expect(headers.map { $0["waqiti-source-offset"] } == ["3", "5"])
        #expect(headers.map { $0["waqiti-error-kind"] } == ["payment_id_reused", "payment_id_reused"])
        #expect(headers[0]["waqiti-error"] == #"payment_id "p1" was already decided for another event (event_time 2026-11-29T08:00:00.000Z); a payment_id names one payment: send this payment under a new payment_id"#)
        #expect(source.commits.last?.offsets == [PartitionOffset(topic: "payments", partition: 0, nextOffset: 6)], "the dead-lettered offsets are committed")
    }

    @Test("later batches are published before earlier ones are acknowledged; offsets are committed in poll order")
    func overlapsDeliveries() async throws {
        let sink = GatedSink()
        let source = ScriptedSource((0..<9).map { message(Int64($0), eventJSON("p\($0)")) }, acknowledged: { sink.acknowledgedMessages })
        let pipeline = try pipeline(source, sink, batch: 3)
        let polls = Mutex(0)
        let committedEarly = Mutex(false)
        try await run(pipeline) {
            if sink.enqueued.count == 3 {
                // All three batches are out; the broker answers the last two first, the first
                // one ten checks (about 100 ms) later.
                sink.release(2)
                sink.release(1)
                let checks = polls.withLock { $0 += 1; return $0 }
                if checks < 10 {
                    if !source.commits.isEmpty { committedEarly.withLock { $0 = true } }
                } else {
                    sink.release(0)
                }
            }
            return source.commits.last?.offsets.first?.nextOffset == 9
        }
        #expect(!committedEarly.withLock { $0 }, "an offset was committed while the first batch was unacknowledged")
        #expect(sink.enqueued.map { $0.map { String(decoding: $0.key ?? [], as: UTF8.self) } } == [["p0", "p1", "p2"], ["p3", "p4", "p5"], ["p6", "p7", "p8"]])
        #expect(source.commits.first?.acknowledgedMessages == 9)
        #expect(source.commits.last?.offsets == [PartitionOffset(topic: "payments", partition: 0, nextOffset: 9)])
        #expect(source.commits.last?.mode == .sync)
    }

    @Test("with batch.max_in_flight = 1 the next batch waits for the previous acknowledgement")
    func boundsBatchesInFlight() async throws {
        let sink = GatedSink()
        let source = ScriptedSource((0..<6).map { message(Int64($0), eventJSON("p\($0)")) }, acknowledged: { sink.acknowledgedMessages })
        let pipeline = try pipeline(source, sink, batch: 3, maxInFlight: 1)
        let observed = Mutex<[Int]>([])
        try await run(pipeline) {
            let enqueued = sink.enqueued.count
            observed.withLock { $0.append(enqueued) }
            // Hold the first batch for a while, then let everything through.
            if observed.withLock({ $0.count }) > 20 { sink.release(0); sink.release(1) }
            return source.commits.last?.offsets.first?.nextOffset == 6
        }
        let counts = observed.withLock { $0 }
        #expect(counts.prefix(20).allSatisfy { $0 <= 1 }, "a second batch was published while the first was unacknowledged: \(Array(counts.prefix(20)))")
        #expect(sink.enqueued.count == 2)
        #expect(source.commits.last?.offsets == [PartitionOffset(topic: "payments", partition: 0, nextOffset: 6)])
    }

    @Test("batch.max_in_flight_bytes bounds the bytes awaiting acknowledgement: a batch of large dead letters is published in parts that fit, one over the limit alone; offsets are committed after the last part")
    func boundsBytesInFlight() async throws {
        let sink = GatedSink()
        // Six messages over kafka.max_message_bytes (1024), so six dead letters of about 2.2 kB.
        let source = ScriptedSource((0..<6).map { message(Int64($0), [UInt8](repeating: UInt8(ascii: " "), count: 2000)) }, acknowledged: { sink.acknowledgedMessages })
        let pipeline = try pipeline(source, sink, batch: 6) { $0.batching.maxInFlightBytes = 5000 }
        let peak = Mutex(0)
        try await run(pipeline) {
            // What the producer holds unacknowledged: the parts enqueued and not yet released.
            let enqueued = sink.enqueued
            let released = (0..<enqueued.count).filter { sink.isReleased($0) }
            let held = enqueued.indices.filter { !released.contains($0) }.reduce(0) { $0 + enqueued[$1].reduce(0) { $0 + $1.byteCount } }
            peak.withLock { $0 = max($0, held) }
            // The broker answers one part per check, the oldest first.
            if let next = enqueued.indices.first(where: { !released.contains($0) }) { sink.release(next) }
            return source.commits.last?.offsets.first?.nextOffset == 6
        }
        let parts = sink.enqueued
        #expect(parts.map(\.count) == [2, 2, 2], "parts of at most 5000 bytes")
        #expect(parts.flatMap { $0 }.allSatisfy { $0.topic == "payments-dlq" })
        #expect(peak.withLock { $0 } <= 5000, "\(peak.withLock { $0 }) bytes were unacknowledged at once")
        #expect(source.commits.first?.acknowledgedMessages == 6, "an offset was committed before the batch's last part was acknowledged")
        #expect(source.commits.last?.offsets == [PartitionOffset(topic: "payments", partition: 0, nextOffset: 6)])

        let alone = GatedSink()
        let second = ScriptedSource((0..<3).map { message(Int64($0), [UInt8](repeating: UInt8(ascii: " "), count: 2000)) }, acknowledged: { alone.acknowledgedMessages })
        let observed = Mutex<[Int]>([])
        try await run(try self.pipeline(second, alone, batch: 3) { $0.batching.maxInFlightBytes = 1000 }) {
            let enqueued = alone.enqueued.count
            observed.withLock { $0.append(enqueued) }
            if observed.withLock({ $0.count }) > 20 { for index in 0..<3 { alone.release(index) } }
            return second.commits.last?.offsets.first?.nextOffset == 3
        }
        #expect(observed.withLock { $0 }.prefix(20).allSatisfy { $0 <= 1 }, "a second dead letter joined one over the byte limit")
        #expect(alone.enqueued.map(\.count) == [1, 1, 1])
    }

    @Test("a decide stage that fell behind decides the polled batches waiting for it together, in poll order")
    func mergesBacklog() async throws {
        let sink = GatedSink()
        let source = ScriptedSource((0..<20).map { message(Int64($0), eventJSON("p\($0)")) }, acknowledged: { sink.acknowledgedMessages })
        // One event per poll and one message in flight: while the first decision is unacknowledged,
        // the publish stage waits, its queue fills, then the decide stage's, then the poll stage waits.
        let pipeline = try pipeline(source, sink, batch: 1, maxInFlight: 1, mergeBatches: 4)
        // The backlog is complete when polling stopped: the poll stage waits for room behind 4
        // decoded one-event batches, which the decide stage, once released, takes in one go.
        let progress = Mutex((remaining: 20, unchangedChecks: 0, released: false))
        try await run(pipeline) {
            let remaining = source.remaining
            let release = progress.withLock { progress in
                progress.unchangedChecks = remaining == progress.remaining ? progress.unchangedChecks + 1 : 0
                progress.remaining = remaining
                if remaining <= 8, progress.unchangedChecks >= 20 { progress.released = true }
                return progress.released
            }
            if release { for index in 0..<20 { sink.release(index) } }
            return source.commits.last?.offsets.first?.nextOffset == 20
        }
        #expect(progress.withLock { $0.released }, "polling never stopped behind the unacknowledged first decision")
        #expect(source.remaining == 0)
        let keys = sink.enqueued.map { $0.map { String(decoding: $0.key ?? [], as: UTF8.self) } }
        #expect(keys.flatMap { $0 } == (0..<20).map { "p\($0)" }, "every payment decided once, in poll order")
        #expect(keys.contains { $0.count == 4 }, "the 4 polls that waited for the decide stage were decided as one batch: \(keys.map(\.count))")
        #expect(keys.allSatisfy { $0.count <= 4 })
        #expect(source.commits.last?.offsets == [PartitionOffset(topic: "payments", partition: 0, nextOffset: 20)])
        #expect(source.commits.last?.mode == .sync)
    }

    @Test("offsets are committed per partition, one past the highest polled, whatever the interleaving")
    func commitsPerPartition() async throws {
        let sink = RecordingSink()
        let source = ScriptedSource([
            message(10, partition: 1, eventJSON("a")), message(3, partition: 0, eventJSON("b")),
            message(11, partition: 1, eventJSON("c")), message(4, partition: 0, Array("{bad".utf8)),
            message(12, partition: 1, eventJSON("d")),
        ], acknowledged: { sink.sent.count })
        try await run(pipeline(source, sink, batch: 5)) { source.drained && source.commits.contains { $0.offsets.count == 2 } }
        let expected = [PartitionOffset(topic: "payments", partition: 0, nextOffset: 5), PartitionOffset(topic: "payments", partition: 1, nextOffset: 13)]
        #expect(source.commits.first?.offsets == expected)
        #expect(source.commits.first?.acknowledgedMessages == 5)
        #expect(source.commits.last?.offsets == expected)
    }

    @Test("a dead letter refused for good is reported and left out, not retried forever; a timed-out decision beside it is retried; every offset is committed")
    func refusedForGood() async throws {
        let sink = RefusingSink(timeOutFirst: true) { $0.topic == "payments-dlq" }
        let source = ScriptedSource([
            message(0, eventJSON("p0")), message(1, [UInt8](repeating: UInt8(ascii: " "), count: 2000)), message(2, eventJSON("p2")),
        ])
        try await run(pipeline(source, sink)) { source.drained && source.commits.last?.offsets.first?.nextOffset == 3 }
        // p2 twice: the retry publishes the batch again whole, less what was refused.
        #expect(sink.sent.map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["p2", "p0", "p2"])
        #expect(sink.enqueued.map(\.count) == [3, 2], "the retry leaves the refused dead letter out")
        #expect(sink.enqueued.last?.allSatisfy { $0.topic == "fraud-decisions" } == true)
        #expect(source.commits.last?.offsets == [PartitionOffset(topic: "payments", partition: 0, nextOffset: 3)])
    }

    @Test("against the real broker: a dead letter over the producer's message.max.bytes fails with MSG_SIZE_TOO_LARGE, is reported, and the pipeline commits and stops",
          .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .timeLimit(.minutes(1)))
    func refusedByLibrdkafka() async throws {
        let client = KafkaClientConfiguration(brokers: try LocalStack.required("WAQITI_KAFKA_BROKERS"), clientID: "waqiti-engine-tests")
        let run = LocalStack.runID()
        let (decisionsTopic, deadLetterTopic) = ("waqiti-test-decisions-\(run)", "waqiti-test-dlq-\(run)")
        let admin = try KafkaAdmin(configuration: client)
        try admin.createTopic(decisionsTopic, partitions: 1)
        try admin.createTopic(deadLetterTopic, partitions: 1)
        var producerConfiguration = KafkaProducerConfiguration(client: client)
        // Below the 300 kB dead letter, which stays under DeadLetter.maxValueBytes: librdkafka
        // refuses it at once, as it did any dead letter over 1,000,000 bytes before they were cut.
        producerConfiguration.maxMessageBytes = 100_000
        let producer = try KafkaProducer(configuration: producerConfiguration)
        let source = ScriptedSource([
            message(0, eventJSON("p0")), message(1, [UInt8](repeating: UInt8(ascii: " "), count: 300_000)), message(2, eventJSON("p2")),
        ])
        let pipeline = try pipeline(source, KafkaMessageSink(producer: producer)) {
            $0.kafka.decisionsTopic = decisionsTopic
            $0.kafka.deadLetterTopic = deadLetterTopic
        }
        try await self.run(pipeline) { source.drained && source.commits.last?.offsets.first?.nextOffset == 3 }
        try producer.close()
        #expect(source.commits.last?.offsets == [PartitionOffset(topic: "payments", partition: 0, nextOffset: 3)])
        #expect(source.commits.last?.mode == .sync)

        var reader = KafkaConsumerConfiguration(client: client, groupID: nil)
        reader.offsetReset = .earliest
        let decisions = try KafkaConsumer(configuration: reader)
        defer { decisions.close() }
        try decisions.assign([KafkaPartitionRange(topic: decisionsTopic, partition: 0, start: .beginning)])
        var keys: [String] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while keys.count < 2, ContinuousClock.now < deadline {
            keys += try decisions.poll(maxMessages: 10, timeout: .milliseconds(200)).messages.map { String(decoding: $0.key ?? [], as: UTF8.self) }
        }
        #expect(keys == ["p0", "p2"])
    }

    @Test("a batch polled before its partition was revoked and assigned again is not committed when acknowledged late: the committed offset never goes back")
    func revokedAndReassigned() async throws {
        let p0 = KafkaTopicPartition(topic: "payments", partition: 0)
        let sink = GatedSink()
        sink.release(0)
        // Batch A (offsets 100-102) under epoch 1 is acknowledged and committed at once.
        let source = ScriptedSource((100..<103).map { message($0, epoch: 1, eventJSON("a\($0)")) }, acknowledged: { sink.acknowledgedMessages })
        source.epochs.withLock { $0 = [p0: 1] }
        let pipeline = try pipeline(source, sink, batch: 3)
        let phase = Mutex(0)
        let commitsBeforeRevoke = Mutex(0)
        try await run(pipeline) {
            switch phase.withLock({ $0 }) {
            case 0 where source.commits.last?.offsets == [PartitionOffset(topic: "payments", partition: 0, nextOffset: 103)]:
                // Batch C (103-104) is polled under epoch 1 and stays unacknowledged.
                source.append((103..<105).map { message($0, epoch: 1, eventJSON("c\($0)")) })
                phase.withLock { $0 = 1 }
            case 1 where sink.enqueued.count == 2:
                // The group revokes p0 (epoch 2), another member reads and commits up to 150, and
                // p0 comes back here (epoch 3). Then C's acknowledgement arrives, late.
                commitsBeforeRevoke.withLock { $0 = source.commits.count }
                source.epochs.withLock { $0 = [p0: 3] }
                sink.release(1)
                phase.withLock { $0 = 2 }
            case let step where step >= 2 && step < 7 && sink.acknowledgementsTaken == 2:
                // A few checks for the commit stage to act on C alone (nothing else in flight: it
                // commits at once, if it commits).
                phase.withLock { $0 += 1 }
            case 7:
                // p0 is read again from the group's 150: batch B under epoch 3.
                source.append((150..<153).map { message($0, epoch: 3, eventJSON("b\($0)")) })
                sink.release(2)
                phase.withLock { $0 = 8 }
            default: break
            }
            return source.commits.last?.offsets.first?.nextOffset == 153
        }
        let afterRevoke = source.commits.dropFirst(commitsBeforeRevoke.withLock { $0 })
        #expect(!afterRevoke.isEmpty)
        #expect(afterRevoke.allSatisfy { $0.offsets.allSatisfy { $0.nextOffset >= 150 } },
                "an offset polled before the revocation was committed after it, behind the group's 150: \(afterRevoke.map(\.offsets))")
        #expect(source.commits.last == ScriptedSource.Commit(
            offsets: [PartitionOffset(topic: "payments", partition: 0, nextOffset: 153)], mode: .sync, acknowledgedMessages: 8))
        #expect(sink.enqueued.map(\.count) == [3, 2, 3], "every polled message is still decided and published")
    }

    @Test("a partition revoked after its last batch was committed is left out of the final commit")
    func revokedAfterCommit() async throws {
        let p0 = KafkaTopicPartition(topic: "payments", partition: 0)
        let p1 = KafkaTopicPartition(topic: "payments", partition: 1)
        let sink = RecordingSink()
        let source = ScriptedSource([
            message(7, partition: 0, epoch: 1, eventJSON("a")), message(3, partition: 1, epoch: 1, eventJSON("b")),
        ], acknowledged: { sink.sent.count })
        source.epochs.withLock { $0 = [p0: 1, p1: 1] }
        let revoked = Mutex(false)
        try await run(pipeline(source, sink, batch: 2)) {
            guard source.commits.count == 1 else { return revoked.withLock { $0 } && source.commits.count > 1 }
            // p0 goes to another member, which commits past offset 8 from then on.
            source.epochs.withLock { $0?[p0] = 2 }
            revoked.withLock { $0 = true }
            return true
        }
        #expect(source.commits.first?.offsets.map(\.nextOffset) == [8, 4])
        #expect(source.commits.dropFirst().allSatisfy { !$0.offsets.contains { $0.partition == 0 } }, "\(source.commits)")
        #expect(source.commits.last == ScriptedSource.Commit(
            offsets: [PartitionOffset(topic: "payments", partition: 1, nextOffset: 4)], mode: .sync, acknowledgedMessages: 2))
    }

    @Test("a delivery failing with _FATAL stops the pipeline with the fatal error at once: not retried, nothing committed",
          arguments: [
              KafkaError.deliveryFailed(failures: [KafkaDeliveryFailure(index: 0, topic: "fraud-decisions", code: .fatal)], batchSize: 3),
              KafkaError.fatal(code: KafkaErrorCode(rawValue: 45), reason: "test_fatal_error: sequence lost"),
          ])
    func fatalDeliveryStops(_ failure: KafkaError) async throws {
        let sink = FatalSink(failure: failure)
        let source = ScriptedSource((0..<3).map { message(Int64($0), eventJSON("p\($0)")) })
        let pipeline = try pipeline(source, sink)
        let error = await outcome(within: .seconds(20)) { try await pipeline.run() }
        #expect((error as? KafkaError) == failure, "the pipeline ended with \(String(describing: error))")
        #expect(sink.attempts == 1, "a fatal failure was retried")
        #expect(source.commits.isEmpty)
    }

    @Test("against the real broker: a producer with a fatal error (rd_kafka_test_fatal_error) stops the pipeline with it instead of retrying forever",
          .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .timeLimit(.minutes(1)))
    func fatalProducerAgainstBroker() async throws {
        let client = KafkaClientConfiguration(brokers: try LocalStack.required("WAQITI_KAFKA_BROKERS"), clientID: "waqiti-engine-tests")
        let decisionsTopic = "waqiti-test-decisions-\(LocalStack.runID())"
        try KafkaAdmin(configuration: client).createTopic(decisionsTopic, partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        // The producer works, then hits what an idempotent producer hits when the broker lost
        // its sequence; librdkafka fails everything after it with _FATAL.
        _ = try await producer.send([KafkaProducerMessage(topic: decisionsTopic, key: nil, value: Array("before".utf8))])
        producer.triggerFatalErrorForTesting(KafkaErrorCode(rawValue: 45), reason: "sequence lost")

        let source = ScriptedSource((0..<3).map { message(Int64($0), eventJSON("p\($0)")) })
        let pipeline = try pipeline(source, KafkaMessageSink(producer: producer)) { $0.kafka.decisionsTopic = decisionsTopic }
        let error = await outcome(within: .seconds(30)) { try await pipeline.run() }
        #expect((error as? KafkaError)?.isFatal == true, "the pipeline ended with \(String(describing: error))")
        #expect("\(String(describing: error))".contains("test_fatal_error: sequence lost"))
        #expect(source.commits.isEmpty)
        try? producer.close(timeout: .seconds(1))
    }

    @Test("a shutdown cut short while the broker is gone: the pipeline stops at the deadline instead of awaiting acknowledgements that never come, and logs exactly the offsets it did not commit",
          .timeLimit(.minutes(1)))
    func cancelledWithBrokerGone() async throws {
        // A broker that went away: its port refuses connections, so nothing is ever acknowledged
        // (librdkafka would give up only after message.timeout.ms, a minute here).
        let gone = try TCPProxy(upstreamPort: 9)
        gone.cut()
        var producerConfiguration = KafkaProducerConfiguration(client: KafkaClientConfiguration(brokers: "127.0.0.1:\(gone.port)", clientID: "waqiti-engine-tests"))
        producerConfiguration.messageTimeout = .seconds(60)
        let producer = try KafkaProducer(configuration: producerConfiguration)
        let sink = KafkaMessageSink(producer: producer)
        let source = ScriptedSource((7..<10).map { message($0, eventJSON("p\($0)")) } + (3..<5).map { message($0, partition: 1, eventJSON("q\($0)")) })
        let log = LogCapture()
        let pipeline = try pipeline(source, sink, batch: 5, logger: log.logger)
        let controller = ShutdownController(timeout: .seconds(1), logger: Logger(label: "test"))
        let running = Task { try await controller.run(ServiceGroup(configuration: .init(services: [pipeline], logger: Logger(label: "test"))), signals: []) }
        while !source.drained { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(100))

        let start = ContinuousClock.now
        controller.received("SIGTERM")
        let outcome = try await running.value
        let took = ContinuousClock.now - start
        #expect(outcome == .escalated(reason: "the graceful shutdown did not finish within shutdown.timeout (1s)"))
        #expect(took < .seconds(6), "the pipeline took \(took) to stop after a 1 s shutdown timeout")
        #expect(source.commits.isEmpty)
        let uncommitted = log.all.filter { $0.message.hasPrefix("stopped before committing") }
        #expect(uncommitted.map { $0.metadata["partition"] ?? "" } == ["payments[0]", "payments[1]"])
        #expect(uncommitted.map { $0.metadata["offsets"] ?? "" } == ["7-9", "3-4"])
        #expect(uncommitted.allSatisfy { $0.level == .error && $0.metadata["acknowledged_through"] == "none" })
        #expect(log.all.contains { $0.message == "the pipeline stopped without draining; uncommitted: payments[0] offsets 7-9; payments[1] offsets 3-4" })
        try? producer.close(timeout: .milliseconds(1))
    }

    @Test("offsets of a partition revoked after its messages were polled are never committed, the final commit included")
    func skipsRevokedPartitions() async throws {
        let sink = RecordingSink()
        let source = ScriptedSource([
            message(10, partition: 1, eventJSON("a")), message(3, partition: 0, eventJSON("b")), message(11, partition: 1, eventJSON("c")),
        ], acknowledged: { sink.sent.count })
        // Partition 1 went to another member while its messages were in flight.
        source.assigned.withLock { $0 = [KafkaTopicPartition(topic: "payments", partition: 0)] }
        try await run(pipeline(source, sink, batch: 3)) { source.drained && !source.commits.isEmpty }
        #expect(sink.sent.count == 3, "what was polled is still decided and published")
        #expect(source.commits.allSatisfy { $0.offsets == [PartitionOffset(topic: "payments", partition: 0, nextOffset: 4)] }, "\(source.commits)")
        #expect(source.commits.last?.mode == .sync)
    }
}
