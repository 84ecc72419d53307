import FraudCore

/// One configuration to replay: how to decide a batch (the `DecisionEngine`'s `decide`) and the
/// rules it lists in the summary.
public struct ReplayConfiguration: Sendable {
    public typealias Decide = @Sendable ([PaymentEvent]) async throws -> [Decision]

    /// Shown in summaries and reports (`default.rules`, `candidate.rules + model v3`).
    public var name: String
    public var rules: [RuleDescriptor]
    public var decide: Decide

    public init(name: String, rules: [RuleDescriptor], decide: @escaping Decide) {
        self.name = name
        self.rules = rules
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
    /// Writes and summarizes each batch's decisions on another thread while the next batch is
    /// decided (`--workers` ≥ 2); the files and summaries are the same byte for byte.
    public var overlapsOutput = false

    public init(baseline: ReplayConfiguration, candidate: ReplayConfiguration? = nil, batchSize: Int = 1024, maxExamples: Int = 5) {
        self.baseline = baseline
        self.candidate = candidate
        self.batchSize = max(1, batchSize)
        self.maxExamples = maxExamples
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
    ///   - progress: called after every batch.
    public func run(
        from next: NextBatch,
        decisionsOut: FileOutput? = nil,
        candidateDecisionsOut: FileOutput? = nil,
        inputBytes: () -> (read: Int, total: Int)? = { nil },
        onBadLine: (EventLineError) throws -> Void = { _ in },
        progress: (ReplayProgress) -> Void = { _ in }
    ) async throws -> ReplayResult {
        let sink = DecisionSink(
            baseline: baseline, candidate: candidate, maxExamples: maxExamples,
            decisionsOut: decisionsOut, candidateDecisionsOut: candidateDecisionsOut)
        let clock = ContinuousClock()
        let started = clock.now
        var events = 0, rejected = 0
        // With `overlapsOutput`, batch n's decisions are written and summarized while batch n + 1
        // is decided; awaiting n's output before handing over n + 1 keeps the order and holds at
        // most one batch in flight.
        var pending: Task<Void, any Error>?
        do {
            while let batch = try next(batchSize) {
                for error in batch.errors { try onBadLine(error) }
                rejected += batch.errors.count
                var decided = SinkBatch(events: batch.events, rejected: batch.errors.count)
                if !batch.events.isEmpty {
                    decided.baseline = try await decide(batch.events, with: baseline)
                    if let candidate { decided.candidate = try await decide(batch.events, with: candidate) }
                }
                if overlapsOutput {
                    try await pending?.value
                    pending = Task { [decided] in try sink.consume(decided) }
                } else {
                    try sink.consume(decided)
                }
                events += batch.events.count
                let bytes = inputBytes()
                progress(ReplayProgress(events: events, rejected: rejected, bytesRead: bytes?.read, totalBytes: bytes?.total, elapsed: clock.now - started))
            }
            try await pending?.value
        } catch {
            // The caller may close the outputs as soon as this returns: let the last write end first.
            _ = try? await pending?.value
            throw error
        }
        return sink.result()
    }

    private func decide(_ events: [PaymentEvent], with configuration: ReplayConfiguration) async throws -> [Decision] {
        var decisions = try await configuration.decide(events)
        precondition(decisions.count == events.count, "\(configuration.name) returned \(decisions.count) decisions for \(events.count) events")
        Self.makeReproducible(&decisions)
        return decisions
    }
}

/// One batch's decisions on their way to the files and summaries.
private struct SinkBatch: Sendable {
    var events: [PaymentEvent]
    var rejected: Int
    var baseline: [Decision] = []
    var candidate: [Decision]?
}

/// The replay's output side: decision files, summaries and the diff, fed batch after batch in
/// input order. Unchecked: `DecisionReplay.run` lets one `consume` run at a time, each awaited
/// before the next starts, and reads the result only after the last.
private final class DecisionSink: @unchecked Sendable {
    private var baselineSummary: ReplaySummaryBuilder
    private var candidateSummary: ReplaySummaryBuilder?
    private var diff: DecisionDiffBuilder?
    private let baselineName: String
    private let candidateName: String?
    private let decisionsOut: FileOutput?
    private let candidateDecisionsOut: FileOutput?
    private let encoder = DecisionEncoder()

    init(baseline: ReplayConfiguration, candidate: ReplayConfiguration?, maxExamples: Int,
         decisionsOut: FileOutput?, candidateDecisionsOut: FileOutput?) {
        baselineSummary = ReplaySummaryBuilder(rules: baseline.rules)
        candidateSummary = candidate.map { ReplaySummaryBuilder(rules: $0.rules) }
        diff = candidate == nil ? nil : DecisionDiffBuilder(maxExamples: maxExamples)
        baselineName = baseline.name
        candidateName = candidate?.name
        self.decisionsOut = decisionsOut
        self.candidateDecisionsOut = candidateDecisionsOut
    }

    func consume(_ batch: SinkBatch) throws {
        baselineSummary.addRejected(batch.rejected)
        candidateSummary?.addRejected(batch.rejected)
        guard !batch.events.isEmpty else { return }
        if let decisionsOut { try write(batch.baseline, decisionsOut) }
        for (event, decision) in zip(batch.events, batch.baseline) { baselineSummary.add(event, decision) }
        if let other = batch.candidate {
            if let candidateDecisionsOut { try write(other, candidateDecisionsOut) }
            for index in batch.events.indices {
                candidateSummary!.add(batch.events[index], other[index])
                diff!.add(batch.events[index], baseline: batch.baseline[index], candidate: other[index])
            }
        }
    }

    func result() -> ReplayResult {
        ReplayResult(
            baseline: ReplayRun(name: baselineName, summary: baselineSummary.summary(), scores: baselineSummary.scores),
            candidate: candidateName.map { ReplayRun(name: $0, summary: candidateSummary!.summary(), scores: candidateSummary!.scores) },
            diff: diff?.diff()
        )
    }

    private func write(_ decisions: [Decision], _ output: FileOutput) throws {
        try output.append { buffer in
            for decision in decisions {
                encoder.append(decision, to: &buffer)
                buffer.append(0x0A)
            }
        }
    }
}
