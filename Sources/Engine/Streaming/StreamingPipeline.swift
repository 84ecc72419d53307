import FraudCore
import Kafka
import Logging
import ServiceLifecycle

/// The Kafka path of `waqiti serve`: poll ▶ decode ▶ decide ▶ encode ▶ publish ▶ commit, as four
/// stages joined by bounded queues so polling, scoring and the broker round trip overlap: a batch
/// is handed to the producer as soon as it is scored, and up to `maxInFlight` full batches' worth
/// of messages (and at most `maxInFlightBytes` of them) await their acknowledgement while later
/// ones are polled and scored.
///
/// The decide stage is the one that limits throughput, so it does nothing else: decoding happens
/// in the poll stage and decision encoding in the publish stage, each on another thread. When it
/// falls behind, it decides every polled batch waiting for it in one call (up to
/// `maxMergedBatches`), so a backlog pays the per-batch costs once instead of once per poll.
///
/// At-least-once: a batch's offsets are committed only after the broker acknowledged every
/// decision and dead letter of it, and batches are published and committed in poll order (a
/// batch acknowledged early waits for the ones before it).
/// Malformed or oversized messages go to the dead-letter topic; nothing on the input stops the
/// pipeline. On graceful shutdown (SIGTERM) it stops polling, drains what is in flight, commits,
/// and returns. Cancelled (a graceful shutdown that took too long), it stops where it is, logs
/// per partition the offsets it polled and did not commit, which the partition's next owner reads
/// again, and throws `CancellationError`. A fatal Kafka client error (`KafkaError.isFatal`) is
/// not retried: it is thrown, which stops the process so that it is restarted with new clients.
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
        /// Polled batches waiting for the decide stage that it decides together (1: one at a
        /// time). Merging adds no wait: only batches already polled are merged.
        public var maxMergedBatches = 4
        /// Full batches' worth of messages (`maxInFlight` × `maxBatchEvents`) published whose
        /// acknowledgement (and commit) may be awaited at once.
        public var maxInFlight: Int
        /// Bytes of published messages (values, keys, headers) whose acknowledgement may be
        /// awaited at once; a batch over it is published in parts, a message over it alone.
        public var maxInFlightBytes: Int
        /// While batches keep coming, offsets are committed (asynchronously) at most this often;
        /// when the pipeline runs dry they are committed at once.
        public var commitInterval: Duration = .milliseconds(100)
        /// Events dated too far ahead of this instance's clock go to the dead-letter topic.
        public var futureGuard: FutureEventGuard

        public init(configuration: EngineConfiguration) {
            futureGuard = FutureEventGuard(maxSkew: configuration.features.maxClockSkew)
            decisionsTopic = configuration.kafka.decisionsTopic
            deadLetterTopic = configuration.kafka.deadLetterTopic
            maxBatchEvents = configuration.batching.maxEvents
            linger = .milliseconds(configuration.batching.linger.milliseconds)
            maxMessageBytes = configuration.kafka.maxMessageBytes
            maxInFlight = configuration.batching.maxInFlight
            maxInFlightBytes = configuration.batching.maxInFlightBytes
        }
    }

    struct DecodedBatch: Sendable {
        var events: [PaymentEvent]
        /// The message each event came from, for a dead letter of it after deciding (a reused
        /// payment_id): its bytes as they arrived, its partition and offset.
        var sources: [KafkaConsumerMessage]
        var deadLetters: [OutgoingMessage]
        /// The kind of each dead letter (`invalid_json`, `oversized`, …), for metrics.
        var deadLetterKinds: [String]
        var offsets: [PolledOffset]
        var receivedAt: ContinuousClock.Instant
    }

    struct ScoredBatch: Sendable {
        var decisions: [Decision]
        var deadLetters: [OutgoingMessage]
        var offsets: [PolledOffset]
    }

    /// Messages handed to the producer together: a scored batch, or a part of one too large for
    /// the in-flight limit. Only a batch's last part carries its offsets, so they are committed
    /// once every part is acknowledged (parts are acknowledged in order).
    struct InFlightBatch: Sendable {
        var messages: [OutgoingMessage]
        /// What the part holds of the in-flight limit, handed back on acknowledgement.
        var units: InFlightLimit.Units
        var offsets: [PolledOffset]
        var delivery: PendingDelivery
        var publishedAt: ContinuousClock.Instant
    }

    private let source: any MessageSource
    private let sink: any MessageSink
    private let engine: DecisionEngine
    private let decoder: EventDecoder
    private let encoder: DecisionEncoder
    private let settings: Settings
    private let logger: Logger
    private let ledger = OffsetLedger()

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
        let scored = BoundedQueue<ScoredBatch>(capacity: settings.queueDepth)
        let inFlight = InFlightLimit(messages: settings.maxInFlight * settings.maxBatchEvents, bytes: settings.maxInFlightBytes)
        // Never full: `inFlight` bounds what waits here.
        let published = BoundedQueue<InFlightBatch>(capacity: .max)
        do {
            try await runStages(decoded: decoded, scored: scored, published: published, inFlight: inFlight)
        } catch {
            reportUncommitted(stoppedBy: error)
            throw error
        }
        // Cancelled, a stage may end without an error of its own (its input queue finished
        // early, the last commit given up): what was polled and not committed is then said too.
        if Task.isCancelled, reportUncommitted(stoppedBy: CancellationError()) { throw CancellationError() }
        logger.notice("pipeline drained: every polled batch is published and committed")
    }

    private func runStages(
        decoded: BoundedQueue<DecodedBatch>, scored: BoundedQueue<ScoredBatch>, published: BoundedQueue<InFlightBatch>, inFlight: InFlightLimit
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Each stage finishes its output queue when it ends, however it ends, so the next
            // stage drains and ends too; a stage that fails also finishes its input queue, so
            // the earlier stage is not left waiting for room.
            group.addTask {
                try await Self.stage({ try await self.pollStage(into: decoded) }, onExit: { await decoded.finish() })
            }
            group.addTask {
                try await Self.stage({ try await self.decideStage(from: decoded, into: scored) },
                                     onExit: { await scored.finish() }, onFailure: { await decoded.finish() })
            }
            group.addTask {
                try await Self.stage({ try await self.publishStage(from: scored, into: published, limit: inFlight) },
                                     onExit: { await published.finish() }, onFailure: { await scored.finish() })
            }
            group.addTask {
                try await Self.stage({ try await self.commitStage(from: published, limit: inFlight) },
                                     onExit: {}, onFailure: { await published.finish(); await inFlight.close() })
            }
            // Not `waitForAll()`: it waits for every stage before rethrowing, and the poll stage
            // polls until cancelled, so a later stage's failure (a fatal producer error) would
            // never come out. The first failure leaves the body, which cancels the other stages.
            while try await group.next() != nil {}
        }
    }

    /// Logs, per partition this member still owns, the offsets it polled and did not commit
    /// (exactly what its next owner reads again); whether there were any.
    @discardableResult
    private func reportUncommitted(stoppedBy error: any Error) -> Bool {
        let assigned = source.assignedPartitions()
        let uncommitted = ledger.uncommitted { partition, epoch in
            (assigned?.contains(partition) ?? true) && (source.assignmentEpoch(of: partition).map { $0 == epoch } ?? true)
        }
        guard !uncommitted.isEmpty else { return false }
        let cause = error is CancellationError ? "cancelled" : "\(error)"
        for range in uncommitted {
            logger.error("stopped before committing: these offsets stay uncommitted and are read again by the partition's next owner; their decisions may be published twice", metadata: [
                "partition": "\(range.partition)", "offsets": "\(range.from)-\(range.to - 1)",
                "acknowledged_through": "\(range.acknowledgedTo.map { "\($0 - 1)" } ?? "none")", "cause": "\(cause)",
            ])
        }
        logger.error("the pipeline stopped without draining; uncommitted: \(uncommitted.map(\.description).joined(separator: "; "))")
        return true
    }

    // MARK: Stages

    /// Runs one stage; `onExit` runs however it ends, `onFailure` first when it fails.
    private static func stage(
        _ body: () async throws -> Void, onExit: () async -> Void, onFailure: () async -> Void = {}
    ) async throws {
        do { try await body() } catch {
            await onFailure()
            await onExit()
            throw error
        }
        await onExit()
    }

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
                try stopIfFatal(error, "polling payments")
                if Task.isCancelled { break }
                logger.error("polling payments failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff.next())
                continue
            }
            guard !messages.isEmpty else { continue }
            let receivedAt = ContinuousClock.now
            let batch = decode(messages, receivedAt: receivedAt)
            ledger.polled(batch.offsets)
            engine.metrics.record(.decode, .now - receivedAt)
            await queue.send(batch)
        }
    }

    private func decideStage(from input: BoundedQueue<DecodedBatch>, into output: BoundedQueue<ScoredBatch>) async throws {
        while let waiting = await input.nextAll(upTo: settings.maxMergedBatches) {
            // Cancelled, the batches still queued are not decided: they stay uncommitted.
            try Task.checkCancellation()
            let batch = DecodedBatch.merged(waiting)
            let decided = try await engine.decideReportingReuses(batch.events, receivedAt: batch.receivedAt)
            engine.metrics.recordDeadLetters(kinds: batch.deadLetterKinds)
            await output.send(scored(batch, decided))
        }
    }

    /// Encodes each scored batch and hands it to the producer in poll order without waiting for
    /// the broker; waits only while `maxInFlight` full batches' worth of messages, or
    /// `maxInFlightBytes` of them, are unacknowledged. A batch over the limit goes in parts that
    /// fit it, each after the one before was acknowledged if need be.
    private func publishStage(from input: BoundedQueue<ScoredBatch>, into output: BoundedQueue<InFlightBatch>, limit: InFlightLimit) async throws {
        while let batch = await input.next() {
            try Task.checkCancellation()
            let parts = limit.parts(of: outgoing(batch))
            for (number, part) in parts.enumerated() {
                let messages = Array(part)
                let units = InFlightLimit.Units(messages)
                await limit.acquire(units)
                let delivery = try await enqueue(messages)
                let offsets = number == parts.count - 1 ? batch.offsets : []
                await output.send(InFlightBatch(messages: messages, units: units, offsets: offsets, delivery: delivery, publishedAt: .now))
            }
        }
    }

    /// Waits for each batch's acknowledgement in poll order, then commits its offsets:
    /// asynchronously while batches keep coming (merged, at most every `commitInterval`), at once
    /// when nothing else is in flight, and synchronously, for every partition, before returning.
    /// Only offsets of the epoch each partition is assigned under now are committed
    /// (`PolledOffset`): a batch polled before its partition was revoked, and perhaps assigned
    /// here again, is acknowledged but not committed, and its partition's position is forgotten.
    private func commitStage(from input: BoundedQueue<InFlightBatch>, limit: InFlightLimit) async throws {
        var acknowledged = AcknowledgedOffsets()
        var lastCommit = ContinuousClock.now
        while let batch = await input.next() {
            try await awaitDelivery(batch)
            engine.metrics.record(.produce, .now - batch.publishedAt)
            await limit.release(batch.units)
            // A part of a batch before its last: nothing to commit yet.
            if batch.offsets.isEmpty { continue }
            acknowledged.acknowledge(batch.offsets)
            ledger.acknowledged(batch.offsets)
            let now = ContinuousClock.now
            let runDry = await input.isEmpty
            guard runDry || now - lastCommit >= settings.commitInterval else { continue }
            forgetRevoked(&acknowledged)
            await commit(acknowledged.takePending(), mode: .async)
            engine.metrics.record(.commit, .now - now)
            lastCommit = now
        }
        // Async commits may still be on their way: this one waits for the broker's answer,
        // unless the shutdown was cut short (the broker may be gone).
        forgetRevoked(&acknowledged)
        await commit(acknowledged.latest.values.sorted { $0.partition < $1.partition }, mode: Task.isCancelled ? .async : .sync)
    }

    /// Drops the offsets whose partition was revoked (and perhaps assigned again) since they were
    /// polled: the partition is read anew from the group's committed offset, which its owner in
    /// between may have moved past them.
    private func forgetRevoked(_ acknowledged: inout AcknowledgedOffsets) {
        let stale = acknowledged.removeStale { offset in
            source.assignmentEpoch(of: offset.partition).map { $0 != offset.epoch } ?? false
        }
        guard !stale.isEmpty else { return }
        logger.notice("not committing offsets polled before their partitions were revoked; the partitions' owners read on from the group's committed offsets", metadata: [
            "offsets": "\(stale.map { "\($0.partition)@\($0.nextOffset)" })",
        ])
    }

    /// `offsets` less those of partitions this member no longer owns: their new owner redelivers
    /// what was not committed, and a commit from here could move its position back.
    private func owned(_ offsets: [PolledOffset]) -> [PolledOffset] {
        guard let assigned = source.assignedPartitions() else { return offsets }
        let kept = offsets.filter { assigned.contains($0.partition) }
        if kept.count < offsets.count {
            logger.notice("not committing partitions revoked from this instance", metadata: [
                "partitions": "\(offsets.filter { !assigned.contains($0.partition) }.map(\.partition.description))",
            ])
        }
        return kept
    }

    // MARK: Steps

    /// The dead-letter kind of an event whose payment_id was already decided for another event.
    public static let reusedPaymentIDKind = "payment_id_reused"

    /// The decided batch's messages: an event answered with the decision made for another event
    /// under its payment_id (`DecidedBatch.reused`) goes to the dead-letter topic with the reason
    /// instead of republishing that decision, so the second payment's bytes are kept for someone
    /// to look at, not only counted and logged. Its offset is committed with the batch's.
    func scored(_ batch: DecodedBatch, _ decided: DecidedBatch) -> ScoredBatch {
        guard !decided.reused.isEmpty else {
            return ScoredBatch(decisions: decided.decisions, deadLetters: batch.deadLetters, offsets: batch.offsets)
        }
        var deadLetters = batch.deadLetters
        var decisions: [Decision] = []
        decisions.reserveCapacity(decided.decisions.count - decided.reused.count)
        var reused = decided.reused.makeIterator()
        var nextReused = reused.next()
        for (index, decision) in decided.decisions.enumerated() {
            guard index == nextReused else {
                decisions.append(decision)
                continue
            }
            deadLetters.append(deadLetter(batch.sources[index], kind: Self.reusedPaymentIDKind, error: decided.reuseExplanation(batch.events[index], at: index)))
            nextReused = reused.next()
        }
        // Already counted as events (duplicates, answered from the decision cache): counted here
        // by kind only.
        engine.metrics.recordDeadLetters(kinds: repeatElement(Self.reusedPaymentIDKind, count: decided.reused.count), countingEvents: false)
        return ScoredBatch(decisions: decisions, deadLetters: deadLetters, offsets: batch.offsets)
    }

    func decode(_ messages: [KafkaConsumerMessage], receivedAt: ContinuousClock.Instant) -> DecodedBatch {
        var events: [PaymentEvent] = []
        var sources: [KafkaConsumerMessage] = []
        var deadLetters: [OutgoingMessage] = []
        var deadLetterKinds: [String] = []
        events.reserveCapacity(messages.count)
        sources.reserveCapacity(messages.count)
        // A poll holds a few partitions, each as one run of messages: a short list searched from
        // its end beats hashing the topic name per message. A partition revoked and assigned
        // again within the poll has two runs, one per epoch.
        var offsets: [PolledOffset] = []
        let latestAccepted = settings.futureGuard.latestAccepted()
        for message in messages {
            if let last = offsets.lastIndex(where: {
                $0.partition.partition == message.partition && $0.epoch == message.assignmentEpoch && $0.partition.topic == message.topic
            }) {
                offsets[last].nextOffset = max(offsets[last].nextOffset, message.offset + 1)
                offsets[last].firstOffset = min(offsets[last].firstOffset, message.offset)
            } else {
                offsets.append(PolledOffset(partition: message.topicPartition, nextOffset: message.offset + 1, epoch: message.assignmentEpoch, firstOffset: message.offset))
            }
            if message.value.count > settings.maxMessageBytes {
                deadLetters.append(deadLetter(message, kind: "oversized", error: "message of \(message.value.count) bytes exceeds kafka.max_message_bytes (\(settings.maxMessageBytes))"))
                deadLetterKinds.append("oversized")
                continue
            }
            do throws(EventDecodingError) {
                let event = try message.value.withUnsafeBufferPointer { (bytes) throws(EventDecodingError) in try decoder.decode(bytes) }
                if let problem = settings.futureGuard.problem(event, latestAccepted: latestAccepted) {
                    deadLetters.append(deadLetter(message, kind: FutureEventGuard.deadLetterKind, error: problem))
                    deadLetterKinds.append(FutureEventGuard.deadLetterKind)
                    continue
                }
                events.append(event)
                sources.append(message)
            } catch {
                deadLetters.append(deadLetter(message, kind: error.kind.rawValue, error: error.description))
                deadLetterKinds.append(error.kind.rawValue)
            }
        }
        offsets.sort { ($0.partition, $0.epoch) < ($1.partition, $1.epoch) }
        return DecodedBatch(events: events, sources: sources, deadLetters: deadLetters, deadLetterKinds: deadLetterKinds, offsets: offsets, receivedAt: receivedAt)
    }

    /// The batch's dead letters, then its decisions keyed by payment_id.
    func outgoing(_ batch: ScoredBatch) -> [OutgoingMessage] {
        var messages = batch.deadLetters
        messages.reserveCapacity(messages.count + batch.decisions.count)
        for decision in batch.decisions {
            messages.append(OutgoingMessage(topic: settings.decisionsTopic, key: Array(decision.paymentID.utf8), value: encoder.encode(decision)))
        }
        return messages
    }

    private func deadLetter(_ message: KafkaConsumerMessage, kind: String, error: String) -> OutgoingMessage {
        logger.warning("dead-lettering a payment message", metadata: [
            "partition": "\(message.partition)", "offset": "\(message.offset)", "kind": "\(kind)", "error": "\(error)",
        ])
        return DeadLetter.message(for: message, kind: kind, error: error, topic: settings.deadLetterTopic)
    }

    /// Hands messages to the producer; retried (not dropped) if the producer cannot take them.
    private func enqueue(_ messages: [OutgoingMessage]) async throws -> PendingDelivery {
        var backoff = RetryBackoff()
        while true {
            do {
                return try await sink.enqueue(messages)
            } catch {
                try stopIfFatal(error, "handing decisions to the producer")
                try Task.checkCancellation()
                logger.error("handing decisions to the producer failed; retrying", metadata: ["error": "\(error)", "messages": "\(messages.count)"])
                try await Task.sleep(for: backoff.next())
            }
        }
    }

    /// Retries until the broker acknowledges: committing without delivery would lose decisions.
    /// A failed batch is published again whole (duplicates of its acknowledged part are harmless:
    /// decisions are idempotent by payment_id), except messages refused for good (too large,
    /// malformed): the same bytes would be refused forever, the commit would never come and the
    /// pipeline would stall. Those are reported (`refused(_:_:)`) and left out. On cancellation
    /// the batch stays uncommitted and is redelivered to the next consumer.
    private func awaitDelivery(_ batch: InFlightBatch) async throws {
        var delivery = batch.delivery
        var messages = batch.messages
        var backoff = RetryBackoff()
        while true {
            let failure: any Error
            do {
                try await delivery.acknowledged()
                return
            } catch {
                failure = error
            }
            try stopIfFatal(failure, "publishing decisions")
            try Task.checkCancellation()
            if case KafkaError.deliveryFailed(let failures, _) = failure {
                let refused = failures.filter { $0.code.refusesMessageForGood && messages.indices.contains($0.index) }
                for entry in refused { self.refused(messages[entry.index], entry.code) }
                // Everything else of the batch was acknowledged: nothing left to retry.
                if refused.count == failures.count { return }
                let dropped = Set(refused.map(\.index))
                messages = messages.indices.filter { !dropped.contains($0) }.map { messages[$0] }
            }
            logger.error("publishing decisions failed; retrying before committing", metadata: ["error": "\(failure)", "messages": "\(messages.count)"])
            try await Task.sleep(for: backoff.next())
            delivery = try await enqueue(messages)
        }
    }

    /// Throws `error` when it says the Kafka client is dead for good (`KafkaError.isFatal`: a
    /// fatal idempotent-producer error, after which librdkafka fails every produce with `_FATAL`).
    /// Retrying would spin forever behind a healthy-looking process, so the pipeline stops
    /// instead, the process exits non-zero, and its supervisor starts it again with new clients;
    /// the batches not committed are redelivered.
    private func stopIfFatal(_ error: any Error, _ what: String) throws {
        guard let kafka = error as? KafkaError, kafka.isFatal else { return }
        logger.critical("\(what) failed: the Kafka client failed fatally and cannot recover; stopping so the process exits and is restarted with a new client (what was not committed is redelivered)", metadata: [
            "error": "\(kafka)",
        ])
        throw kafka
    }

    /// A message that can never be published: said loudly, with what is needed to recover it (a
    /// decision in full; a dead letter's source position, where the original still is), and
    /// counted in `waqiti_messages_refused_total`.
    private func refused(_ message: OutgoingMessage, _ code: KafkaErrorCode) {
        let isDecision = message.topic == settings.decisionsTopic
        var metadata: Logger.Metadata = ["topic": "\(message.topic)", "code": "\(code)", "bytes": "\(message.value.count)"]
        if isDecision {
            metadata["payment_id"] = "\(String(decoding: message.key ?? [], as: UTF8.self))"
            metadata["decision"] = "\(String(decoding: message.value, as: UTF8.self))"
            logger.error("the broker refused a decision for good; it is not published, so act on it from this log line", metadata: metadata)
        } else {
            for (name, value) in message.headers where name.hasPrefix("waqiti-") { metadata[name] = "\(String(decoding: value, as: UTF8.self))" }
            logger.error("the broker refused a dead letter for good; the original is still on its source topic at the offset given", metadata: metadata)
        }
        engine.metrics.recordRefusedMessage(kind: isDecision ? "decision" : "dead_letter", code: code.name)
    }

    private func commit(_ offsets: [PolledOffset], mode: KafkaCommitMode) async {
        let offsets = offsets.isEmpty ? [] : owned(offsets)
        guard !offsets.isEmpty else { return }
        do {
            try await source.commit(offsets.map(\.committable), mode: mode)
            ledger.committed(offsets)
        } catch {
            // A failed commit only means redelivery, which idempotent decisions absorb.
            logger.warning("committing offsets failed; the batch may be redelivered", metadata: ["error": "\(error)"])
        }
    }
}

extension StreamingPipeline.DecodedBatch {
    /// Batches polled one after another as one: events and dead letters in poll order, the
    /// highest offset per partition, and the first batch's receipt (latency counts from there).
    static func merged(_ batches: [Self]) -> Self {
        var merged = batches[0]
        guard batches.count > 1 else { return merged }
        for batch in batches.dropFirst() {
            merged.events += batch.events
            merged.sources += batch.sources
            merged.deadLetters += batch.deadLetters
            merged.deadLetterKinds += batch.deadLetterKinds
            merged.offsets += batch.offsets
        }
        merged.offsets = PolledOffset.merged(merged.offsets)
        return merged
    }
}
