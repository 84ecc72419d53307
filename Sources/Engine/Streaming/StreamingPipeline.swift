import FraudCore
import Kafka
import Logging
import ServiceLifecycle

/// The Kafka path of `waqiti serve`: poll ▶ decode ▶ decide ▶ publish ▶ commit, as three stages
/// joined by bounded queues so polling, scoring and the broker round trip overlap.
///
/// At-least-once: a batch's offsets are committed only after the broker acknowledged every
/// decision and dead letter of it, and batches are published and committed in poll order.
/// Malformed or oversized messages go to the dead-letter topic; nothing on the input stops the
/// pipeline. On graceful shutdown (SIGTERM) it stops polling, drains what is in flight, commits,
/// and returns.
public final class StreamingPipeline: Service, Sendable {
    /// The topics and limits the pipeline needs from the configuration.
    public struct Settings: Sendable {
        public var decisionsTopic: String
        public var deadLetterTopic: String
        public var maxBatchEvents: Int
        public var linger: Duration
        public var maxMessageBytes: Int
        /// Batches waiting between two stages before the earlier stage waits.
        public var queueDepth = 4

        public init(configuration: EngineConfiguration) {
            decisionsTopic = configuration.kafka.decisionsTopic
            deadLetterTopic = configuration.kafka.deadLetterTopic
            maxBatchEvents = configuration.batching.maxEvents
            linger = .milliseconds(configuration.batching.linger.milliseconds)
            maxMessageBytes = configuration.kafka.maxMessageBytes
        }
    }

    struct DecodedBatch: Sendable {
        var events: [PaymentEvent]
        var deadLetters: [OutgoingMessage]
        /// The kind of each dead letter (`invalid_json`, `oversized`, …), for metrics.
        var deadLetterKinds: [String]
        var offsets: [PartitionOffset]
        var receivedAt: ContinuousClock.Instant
    }

    struct PublishableBatch: Sendable {
        var messages: [OutgoingMessage]
        var offsets: [PartitionOffset]
    }

    private let source: any MessageSource
    private let sink: any MessageSink
    private let engine: DecisionEngine
    private let decoder: EventDecoder
    private let encoder: DecisionEncoder
    private let settings: Settings
    private let logger: Logger

    public init(source: any MessageSource, sink: any MessageSink, engine: DecisionEngine, settings: Settings, logger: Logger) {
        self.source = source
        self.sink = sink
        self.engine = engine
        self.decoder = EventDecoder(limits: EventDecodingLimits(maxEventBytes: settings.maxMessageBytes))
        self.encoder = DecisionEncoder()
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        let decoded = BoundedQueue<DecodedBatch>(capacity: settings.queueDepth)
        let scored = BoundedQueue<PublishableBatch>(capacity: settings.queueDepth)
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Each stage finishes its output queue when it ends, however it ends, so the next
            // stage drains and ends too.
            group.addTask {
                do { try await self.pollStage(into: decoded) } catch {
                    await decoded.finish()
                    throw error
                }
                await decoded.finish()
            }
            group.addTask {
                do { try await self.decideStage(from: decoded, into: scored) } catch {
                    await scored.finish()
                    throw error
                }
                await scored.finish()
            }
            group.addTask { try await self.publishStage(from: scored) }
            try await group.waitForAll()
        }
        logger.notice("pipeline drained: every polled batch is published and committed")
    }

    // MARK: Stages

    /// Graceful shutdown cancels only this stage: polling stops, the later stages drain.
    private func pollStage(into queue: BoundedQueue<DecodedBatch>) async throws {
        try await cancelWhenGracefulShutdown { try await self.pollLoop(into: queue) }
    }

    private func pollLoop(into queue: BoundedQueue<DecodedBatch>) async throws {
        var backoff = RetryBackoff()
        while !Task.isCancelled {
            let messages: [KafkaConsumerMessage]
            do {
                messages = try await source.poll(maxMessages: settings.maxBatchEvents, linger: settings.linger)
                backoff.reset()
            } catch {
                if Task.isCancelled { break }
                logger.error("polling payments failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff.next())
                continue
            }
            guard !messages.isEmpty else { continue }
            let receivedAt = ContinuousClock.now
            let batch = decode(messages, receivedAt: receivedAt)
            engine.metrics.record(.decode, .now - receivedAt)
            await queue.send(batch)
        }
    }

    private func decideStage(from input: BoundedQueue<DecodedBatch>, into output: BoundedQueue<PublishableBatch>) async throws {
        while let batch = await input.next() {
            let decisions = try await engine.decide(batch.events, receivedAt: batch.receivedAt)
            var messages = batch.deadLetters
            messages.reserveCapacity(messages.count + decisions.count)
            for decision in decisions {
                messages.append(OutgoingMessage(topic: settings.decisionsTopic, key: Array(decision.paymentID.utf8), value: encoder.encode(decision)))
            }
            engine.metrics.recordDeadLetters(kinds: batch.deadLetterKinds)
            await output.send(PublishableBatch(messages: messages, offsets: batch.offsets))
        }
    }

    private func publishStage(from input: BoundedQueue<PublishableBatch>) async throws {
        while let batch = await input.next() {
            let start = ContinuousClock.now
            try await deliver(batch.messages)
            let delivered = ContinuousClock.now
            engine.metrics.record(.produce, delivered - start)
            try await commit(batch.offsets)
            engine.metrics.record(.commit, .now - delivered)
        }
    }

    // MARK: Steps

    func decode(_ messages: [KafkaConsumerMessage], receivedAt: ContinuousClock.Instant) -> DecodedBatch {
        var events: [PaymentEvent] = []
        var deadLetters: [OutgoingMessage] = []
        var deadLetterKinds: [String] = []
        events.reserveCapacity(messages.count)
        var next: [String: [Int32: Int64]] = [:]
        for message in messages {
            next[message.topic, default: [:]][message.partition] = max(next[message.topic]?[message.partition] ?? 0, message.offset + 1)
            if message.value.count > settings.maxMessageBytes {
                deadLetters.append(deadLetter(message, kind: "oversized", error: "message of \(message.value.count) bytes exceeds kafka.max_message_bytes (\(settings.maxMessageBytes))"))
                deadLetterKinds.append("oversized")
                continue
            }
            do throws(EventDecodingError) {
                events.append(try message.value.withUnsafeBufferPointer { (bytes) throws(EventDecodingError) in try decoder.decode(bytes) })
            } catch {
                deadLetters.append(deadLetter(message, kind: error.kind.rawValue, error: error.description))
                deadLetterKinds.append(error.kind.rawValue)
            }
        }
        let offsets = next.flatMap { topic, partitions in
            partitions.map { PartitionOffset(topic: topic, partition: $0.key, nextOffset: $0.value) }
        }.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        return DecodedBatch(events: events, deadLetters: deadLetters, deadLetterKinds: deadLetterKinds, offsets: offsets, receivedAt: receivedAt)
    }

    private func deadLetter(_ message: KafkaConsumerMessage, kind: String, error: String) -> OutgoingMessage {
        logger.warning("dead-lettering a payment message", metadata: [
            "partition": "\(message.partition)", "offset": "\(message.offset)", "kind": "\(kind)", "error": "\(error)",
        ])
        return DeadLetter.message(for: message, kind: kind, error: error, topic: settings.deadLetterTopic)
    }

    /// Retries until the broker acknowledges: committing without delivery would lose decisions.
    /// On cancellation the batch stays uncommitted and is redelivered to the next consumer.
    private func deliver(_ messages: [OutgoingMessage]) async throws {
        var backoff = RetryBackoff()
        while true {
            do {
                try await sink.send(messages)
                return
            } catch {
                try Task.checkCancellation()
                logger.error("publishing decisions failed; retrying before committing", metadata: ["error": "\(error)", "messages": "\(messages.count)"])
                try await Task.sleep(for: backoff.next())
            }
        }
    }

    private func commit(_ offsets: [PartitionOffset]) async throws {
        do {
            try await source.commit(offsets)
        } catch {
            // A failed commit only means redelivery, which idempotent decisions absorb.
            logger.warning("committing offsets failed; the batch may be redelivered", metadata: ["error": "\(error)"])
        }
    }
}
