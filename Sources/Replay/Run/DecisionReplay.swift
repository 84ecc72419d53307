import Engine
import FraudCore

/// One configuration to replay: how to decide a batch (the `DecisionEngine`'s `decide`) and the
/// rules it lists in the summary.
public struct ReplayConfiguration: Sendable {
    public typealias Decide = @Sendable ([PaymentEvent]) async throws -> [Decision]

    /// `decide` in the engine's two halves (`DecisionEngine.prepare` and `finish`), so a replay
    /// with cores to spare computes batch n + 1's features while batch n is scored.
    public struct Stages: Sendable {
        /// Features of a batch (the engine knows which batches are still being finished).
        /// `overlapping` false: the batch is finished before the next one is prepared (one
        /// thread; `DecisionEngine.prepare(_:mode:receivedAt:overlapping:)`).
        public var prepare: @Sendable (_ events: [PaymentEvent], _ overlapping: Bool) async throws -> PreparedBatch
        public var finish: @Sendable (PreparedBatch) async -> [Decision]

        public init(prepare: @escaping @Sendable (_ events: [PaymentEvent], _ overlapping: Bool) async throws -> PreparedBatch, finish: @escaping @Sendable (PreparedBatch) async -> [Decision]) {
            self.prepare = prepare
            self.finish = finish
        }
    }

    /// Shown in summaries and reports (`default.rules`, `candidate.rules + model v3`).
    public var name: String
    public var rules: [RuleDescriptor]
    public var decide: Decide
    public var stages: Stages?

    public init(name: String, rules: [RuleDescriptor], stages: Stages? = nil, decide: @escaping Decide) {
        self.name = name
        self.rules = rules
        self.stages = stages
        self.decide = decide
    }
}

/// What a replay produced.
public struct ReplayResult: Sendable {
    public var baseline: ReplayRun
    public var candidate: ReplayRun?
    public var diff: DecisionDiff?
    /// The baseline's and candidate's summaries with the diff, when comparing.
    public var comparison: ReplayComparison? {
        guard let candidate, let diff else { return nil }
        return ReplayComparison(baseline: baseline.summary, candidate: candidate.summary, diff: diff)
    }
}

/// The replay loop: events in input order, in batches, through one or two configurations.
///
/// Decisions are made by the same engine as `waqiti serve`; the replay only makes them
/// reproducible: `decided_at` is set to the event time and `latency_us` to 0, so the same input,
/// rules and model always give byte-identical decision files.
public struct DecisionReplay: Sendable {
    /// Where events come from: `FeatureReplay.reader(for:)` (JSON Lines, CSV, stdin) or a Kafka range.
    public typealias NextBatch = (_ maxEvents: Int) throws -> EventBatch?

    public var baseline: ReplayConfiguration
    public var candidate: ReplayConfiguration?
    public var batchSize: Int
    public var maxExamples: Int
    /// Batch n is scored (`Stages.finish`) and its decisions encoded, written and summarized on
    /// another thread while batch n + 1 is prepared: `--workers` ≥ 2. Batches still reach the
    /// outputs one at a time in input order, and an event of batch n + 1 whose payment batch n
    /// decides waits for that decision (`DecisionEngine.prepare`), so the files and summaries are
    /// the same bytes either way. Off, or when a configuration has no `stages`, everything runs
    /// on the caller's thread.
    public var overlapsBatches: Bool

    public init(baseline: ReplayConfiguration, candidate: ReplayConfiguration? = nil, batchSize: Int = 1024, maxExamples: Int = 5, overlapsBatches: Bool = false) {
        self.baseline = baseline
        self.candidate = candidate
        self.batchSize = max(1, batchSize)
        self.maxExamples = maxExamples
        self.overlapsBatches = overlapsBatches
    }

    /// Sets the fields that depend on when and where a decision was made to event-time values.
    @inline(__always)
    public static func makeReproducible(_ decisions: inout [Decision]) {
        for index in decisions.indices {
            decisions[index].decidedAt = decisions[index].eventTime
            decisions[index].latencyMicros = 0
        }
    }

    /// - Parameters:
    ///   - decisionsOut: the baseline's decisions, one JSON line per event in input order.
    ///   - candidateDecisionsOut: the candidate's, when comparing.
    ///   - inputBytes: bytes consumed and total so far, for the progress report's ETA.
    ///   - onBadLine: every input record that did not decode (the replay goes on).
    ///   - onReusedPaymentID: every record that gave a decided payment_id to another payment
    ///     (`ReusedPaymentID`): it has no line in the decision files. Called with `onBadLine` once
    ///     the record's batch is decided, on this task, in input order whatever `overlapsBatches`
    ///     and `batchSize` are (from Kafka, a batch's malformed records come before its reused ids:
    ///     offsets in different partitions do not say which came first).
    ///   - progress: called after every batch.
    public func run(
        from next: NextBatch,
        decisionsOut: FileOutput? = nil,
        candidateDecisionsOut: FileOutput? = nil,
        inputBytes: () -> (read: Int, total: Int)? = { nil },
        onBadLine: (EventLineError) throws -> Void = { _ in },
        onReusedPaymentID: (ReusedPaymentID) throws -> Void = { _ in },
        progress: (ReplayProgress) -> Void = { _ in }
    ) async throws -> ReplayResult {
        let sink = ReplayOutput(
            baseline: ReplaySummaryBuilder(rules: baseline.rules), candidate: candidate.map { ReplaySummaryBuilder(rules: $0.rules) },
            diff: candidate == nil ? nil : DecisionDiffBuilder(maxExamples: maxExamples),
            decisionsOut: decisionsOut, candidateDecisionsOut: candidateDecisionsOut)
        let clock = ContinuousClock()
        let started = clock.now
        var eventCount = 0, rejected = 0
        // The scoring and output of the batch before, on another thread; awaited before the next
        // one starts, so the sink is only ever used by one batch at a time, in input order.
        // It returns the batch's reused payment ids, reported here with the batch's malformed
        // records once it is awaited: the callbacks run on this task only, one batch after another.
        var pending: (task: Task<[ReusedPaymentID], any Error>, errors: [EventLineError])?
        func report(_ errors: [EventLineError], _ reused: [ReusedPaymentID]) throws {
            // Malformed and reused records of a file carry its line numbers: merged by them. A Kafka
            // record (a partition) has an offset, which orders nothing across partitions: the
            // batch's malformed records all go first.
            var e = errors.startIndex
            for record in reused {
                while e < errors.endIndex, record.partition != nil || errors[e].line < record.line {
                    try onBadLine(errors[e])
                    e += 1
                }
                try onReusedPaymentID(record)
            }
            for error in errors[e...] { try onBadLine(error) }
        }
        func settle() async throws {
            guard let batch = pending else { return }
            pending = nil
            try report(batch.errors, try await batch.task.value)
        }
        let staged = overlapsBatches ? stagedPair : nil
        // A failure ends the loop only after the batch in flight is done with the files, which
        // the caller closes next.
        do {
            while let batch = try next(batchSize) {
                rejected += batch.errors.count
                guard !batch.events.isEmpty else {
                    try await settle()
                    try report(batch.errors, [])
                    sink.addRejected(batch.errors.count)
                    continue
                }
                let (events, rejectedHere) = (batch.events, batch.errors.count)
                let origins = RecordOrigins(lines: batch.lineNumbers, partitions: batch.partitions)
                if let staged {
                    let preparedBaseline = try await staged.baseline.prepare(events, true)
                    let preparedCandidate = try await staged.candidate?.prepare(events, true)
                    try await settle()
                    let task = Task {
                        var decided = await staged.baseline.finish(preparedBaseline)
                        Self.makeReproducible(&decided)
                        var other: [Decision]?
                        if let preparedCandidate, let stages = staged.candidate {
                            other = await stages.finish(preparedCandidate)
                            Self.makeReproducible(&other!)
                        }
                        return try sink.add(events, origins, decided, other, rejected: rejectedHere, tooLate: (preparedBaseline.tooLate, preparedCandidate?.tooLate ?? 0))
                    }
                    pending = (task, batch.errors)
                } else {
                    let decided = try await decide(events, with: baseline)
                    let other = candidate == nil ? nil : try await decide(events, with: candidate!)
                    let reused = try sink.add(events, origins, decided.decisions, other?.decisions, rejected: rejectedHere, tooLate: (decided.tooLate, other?.tooLate ?? 0))
                    try report(batch.errors, reused)
                }
                eventCount += events.count
                let bytes = inputBytes()
                progress(ReplayProgress(events: eventCount, rejected: rejected, bytesRead: bytes?.read, totalBytes: bytes?.total, elapsed: clock.now - started))
            }
        } catch {
            _ = try? await pending?.task.value
            throw error
        }
        try await settle()
        return ReplayResult(
            baseline: ReplayRun(name: baseline.name, summary: sink.baseline.summary(), scores: sink.baseline.scores),
            candidate: candidate.map { ReplayRun(name: $0.name, summary: sink.candidate!.summary(), scores: sink.candidate!.scores) },
            diff: sink.diff?.diff()
        )
    }

    /// The baseline's and candidate's stages, when every configuration has them.
    private var stagedPair: (baseline: ReplayConfiguration.Stages, candidate: ReplayConfiguration.Stages?)? {
        guard let stages = baseline.stages else { return nil }
        guard let candidate else { return (stages, nil) }
        return candidate.stages.map { (stages, $0) }
    }

    /// One batch on this thread: through the stages when the configuration has them (the
    /// batch's too-late count comes with them), else its `decide` (too late: 0).
    private func decide(_ events: [PaymentEvent], with configuration: ReplayConfiguration) async throws -> (decisions: [Decision], tooLate: Int) {
        var decisions: [Decision], tooLate = 0
        if let stages = configuration.stages {
            let prepared = try await stages.prepare(events, false)
            tooLate = prepared.tooLate
            decisions = await stages.finish(prepared)
        } else {
            decisions = try await configuration.decide(events)
        }
        precondition(decisions.count == events.count, "\(configuration.name) returned \(decisions.count) decisions for \(events.count) events")
        Self.makeReproducible(&decisions)
        return (decisions, tooLate)
    }
}

/// A record that gave a payment_id already decided to another payment (other content under the
/// same id, `Decision.wasMade(for:)`). `waqiti serve` publishes no decision for such an event and
/// dead-letters it (kind `payment_id_reused`); the replay writes no decisions line for it and
/// reports it, so a backtest's decision files hold what the decisions topic would.
public struct ReusedPaymentID: Sendable {
    public var event: PaymentEvent
    /// Where the record came from: its line in a file, or its offset in a Kafka partition; 0
    /// when the source gave none.
    public var line: Int
    /// The Kafka partition it came from; nil for a file.
    public var partition: Int32?
    /// Why it got no decision: the text of `serve`'s dead letter and of HTTP's 409.
    public var explanation: String
}

/// Where a batch's records came from (`EventBatch.lineNumbers` and `partitions`), which may be
/// empty for a source that gives none.
struct RecordOrigins: Sendable {
    var lines: [Int]
    var partitions: [Int32]

    func line(_ index: Int) -> Int { index < lines.count ? lines[index] : 0 }
    func partition(_ index: Int) -> Int32? { index < partitions.count ? partitions[index] : nil }
}

/// Where decided batches go: the decision files, the summaries and the diff.
///
/// `@unchecked Sendable`: the replay loop hands the sink one batch at a time and awaits each
/// batch's `add` before the next starts (on whichever thread it ran), so no two threads ever use
/// it at once.
private final class ReplayOutput: @unchecked Sendable {
    var baseline: ReplaySummaryBuilder
    var candidate: ReplaySummaryBuilder?
    var diff: DecisionDiffBuilder?
    private var deliveries = FirstDeliveries()
    /// Per event of the batch being added: a redelivery (scratch, reused).
    private var redelivery: [Bool] = []
    let decisionsOut: FileOutput?
    let candidateDecisionsOut: FileOutput?
    private let encoder = DecisionEncoder()

    init(baseline: ReplaySummaryBuilder, candidate: ReplaySummaryBuilder?, diff: DecisionDiffBuilder?, decisionsOut: FileOutput?, candidateDecisionsOut: FileOutput?) {
        self.baseline = baseline
        self.candidate = candidate
        self.diff = diff
        self.decisionsOut = decisionsOut
        self.candidateDecisionsOut = candidateDecisionsOut
    }

    func addRejected(_ count: Int) {
        baseline.addRejected(count)
        candidate?.addRejected(count)
    }

    /// Returns the batch's records that reused a decided payment_id (the baseline's view; they
    /// have no line in either decision file).
    func add(
        _ events: [PaymentEvent], _ origins: RecordOrigins, _ decided: [Decision], _ other: [Decision]?, rejected: Int,
        tooLate: (baseline: Int, candidate: Int)
    ) throws -> [ReusedPaymentID] {
        addRejected(rejected)
        baseline.addTooLate(tooLate.baseline)
        candidate?.addTooLate(tooLate.candidate)
        redelivery.removeAll(keepingCapacity: true)
        deliveries.markRedeliveries(events, into: &redelivery)
        let reused = reusedIndices(events, decided)
        if let decisionsOut { try write(decided, skipping: reused, decisionsOut) }
        for index in events.indices { baseline.add(events[index], decided[index], redelivery: redelivery[index]) }
        let records = reused.map {
            ReusedPaymentID(event: events[$0], line: origins.line($0), partition: origins.partition($0),
                            explanation: DecidedBatch.reuseExplanation(events[$0], standing: decided[$0]))
        }
        guard let other else { return records }
        if let candidateDecisionsOut { try write(other, skipping: reusedIndices(events, other), candidateDecisionsOut) }
        for index in events.indices {
            candidate!.add(events[index], other[index], redelivery: redelivery[index])
            diff!.add(events[index], baseline: decided[index], candidate: other[index], redelivery: redelivery[index])
        }
        return records
    }

    /// The redeliveries answered with a decision made for another event: only a payment id seen
    /// before can have one, so only those few records are fingerprinted.
    private func reusedIndices(_ events: [PaymentEvent], _ decisions: [Decision]) -> [Int] {
        var reused: [Int] = []
        for index in events.indices where redelivery[index] && !decisions[index].wasMade(for: events[index]) { reused.append(index) }
        return reused
    }

    /// One line per decision but those at `skipping` (ascending indices).
    private func write(_ decisions: [Decision], skipping: [Int], _ output: FileOutput) throws {
        try output.append { buffer in
            // Read in place: iterating the array copied each decision, a retain and release of
            // every string and array in it.
            decisions.withUnsafeBufferPointer { decisions in
                var skip = skipping.makeIterator()
                var nextSkipped = skip.next()
                for index in decisions.indices {
                    if index == nextSkipped {
                        nextSkipped = skip.next()
                        continue
                    }
                    encoder.append(decisions[index], to: &buffer)
                    buffer.append(0x0A)
                }
            }
        }
    }
}
