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
        var baselineSummary = ReplaySummaryBuilder(rules: baseline.rules)
        var candidateSummary = candidate.map { ReplaySummaryBuilder(rules: $0.rules) }
        var diff = candidate == nil ? nil : DecisionDiffBuilder(maxExamples: maxExamples)
        let encoder = DecisionEncoder()
        let clock = ContinuousClock()
        let started = clock.now
        var events = 0, rejected = 0

        while let batch = try next(batchSize) {
            for error in batch.errors { try onBadLine(error) }
            rejected += batch.errors.count
            baselineSummary.addRejected(batch.errors.count)
            candidateSummary?.addRejected(batch.errors.count)
            guard !batch.events.isEmpty else { continue }
            let decided = try await decide(batch.events, with: baseline)
            if let decisionsOut { try write(decided, encoder, decisionsOut) }
            for (event, decision) in zip(batch.events, decided) { baselineSummary.add(event, decision) }
            if let candidate {
                let other = try await decide(batch.events, with: candidate)
                if let candidateDecisionsOut { try write(other, encoder, candidateDecisionsOut) }
                for index in batch.events.indices {
                    candidateSummary!.add(batch.events[index], other[index])
                    diff!.add(batch.events[index], baseline: decided[index], candidate: other[index])
                }
            }
            events += batch.events.count
            let bytes = inputBytes()
            progress(ReplayProgress(events: events, rejected: rejected, bytesRead: bytes?.read, totalBytes: bytes?.total, elapsed: clock.now - started))
        }
        return ReplayResult(
            baseline: ReplayRun(name: baseline.name, summary: baselineSummary.summary(), scores: baselineSummary.scores),
            candidate: candidate.map { ReplayRun(name: $0.name, summary: candidateSummary!.summary(), scores: candidateSummary!.scores) },
            diff: diff?.diff()
        )
    }

    private func decide(_ events: [PaymentEvent], with configuration: ReplayConfiguration) async throws -> [Decision] {
        var decisions = try await configuration.decide(events)
        precondition(decisions.count == events.count, "\(configuration.name) returned \(decisions.count) decisions for \(events.count) events")
        Self.makeReproducible(&decisions)
        return decisions
    }

    private func write(_ decisions: [Decision], _ encoder: DecisionEncoder, _ output: FileOutput) throws {
        try output.append { buffer in
            for decision in decisions {
                encoder.append(decision, to: &buffer)
                buffer.append(0x0A)
            }
        }
    }
}
