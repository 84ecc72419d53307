import Features
import FraudCore
import Logging
import Model
import Rules
import Synchronization

/// decode ▶ features ▶ model ▶ rules ▶ decision, one batch at a time, knowing nothing of Kafka or
/// HTTP: `waqiti serve`'s consumer, `POST /v1/score` and `waqiti replay` all call `decide` (or,
/// a replay with `--workers`, its two halves `prepare` and `finish`, one batch apart).
///
/// Per batch: the current rule set and model are read once (a reload swaps them for the next
/// batch; a batch in flight finishes on the ones it started with), remembered decisions are
/// returned as they were (a redelivered payment gets the identical decision and changes no
/// window), every other event's features come from one store call, the model scores the batch in
/// one call, and the rules decide each event.
public final class DecisionEngine: Sendable {
    public let metrics: EngineMetrics
    public let featureRouter: FeatureRouter
    private let rules: @Sendable () -> RuleSet
    private let model: @Sendable () -> CompiledModel?
    private let cache: any DecisionCache
    private let degradedPolicy: DegradedPolicy
    private let wallClock: @Sendable () -> EventTime
    private let binder: PlanBinder
    /// Per-worker model scorers whose buffers outlive the batch.
    private let scorers: ScorerPool
    /// Feature rows of the batches being decided, kept between calls: a fresh array per batch
    /// (hundreds of kilobytes) took fresh pages from the allocator each time, ~8% of the page
    /// faults of `waqiti serve` in the engine bench's drain (perf record -e cpu-clock -a -g of
    /// `waqiti-bench engine --only throughput --events 100000 --runs 1 --stores memory`).
    private let featureBuffers = BufferPool<Double>(keeping: 4)
    /// The handoffs of the batches `prepare`d and not finished yet, oldest first.
    private let unfinished = Mutex<[Handoff]>([])
    private let logger: Logger?

    public init(
        rules: @escaping @Sendable () -> RuleSet,
        model: @escaping @Sendable () -> CompiledModel?,
        features: FeatureRouter,
        cache: any DecisionCache,
        degradedPolicy: DegradedPolicy,
        metrics: EngineMetrics = EngineMetrics(),
        wallClock: @escaping @Sendable () -> EventTime = WallClock.now,
        scorers: ScorerPool = ScorerPool(),
        logger: Logger? = nil
    ) {
        binder = PlanBinder(logger: logger)
        self.logger = logger
        self.scorers = scorers
        self.rules = rules
        self.model = model
        self.featureRouter = features
        self.cache = cache
        self.degradedPolicy = degradedPolicy
        self.metrics = metrics
        self.wallClock = wallClock
    }

    /// The rule set new batches are decided with.
    public var currentRules: RuleSet { rules() }
    public var currentModel: CompiledModel? { model() }

    /// The features computed per event, in column order: every feature the rule sets and models
    /// seen so far read.
    public var currentPlan: FeaturePlan { binder.binding(rules: rules(), model: model()).plan }

    /// Decides every event of the batch; the result has one decision per event, in order.
    ///
    /// - Parameters:
    ///   - mode: `.readOnly` scores without touching any window or remembering the decision
    ///     (`POST /v1/score?dry_run=true`).
    ///   - receivedAt: when the transport received the batch; `latency_us` counts from there.
    /// - Throws: only what the local feature store throws (a bug); Redis failures degrade instead.
    public func decide(_ events: [PaymentEvent], mode: StoreMode = .update, receivedAt: ContinuousClock.Instant = .now) async throws -> [Decision] {
        try await decideReportingReuses(events, mode: mode, receivedAt: receivedAt).decisions
    }

    /// `decide`, and which events were answered with a decision made for another event under
    /// their `payment_id` (`DecidedBatch.reused`), for a transport that refuses them.
    public func decideReportingReuses(_ events: [PaymentEvent], mode: StoreMode = .update, receivedAt: ContinuousClock.Instant = .now) async throws -> DecidedBatch {
        guard !events.isEmpty else { return DecidedBatch(decisions: [], reused: []) }
        return await finishReportingReuses(try await prepare(events, mode: mode, receivedAt: receivedAt, overlapping: false))
    }

    /// The first half of `decide`: remembered decisions are looked up and every other event's
    /// features computed (its windows updated). `finish` scores the batch. A replay that has
    /// cores to spare computes batch n + 1's features while batch n is scored and written.
    ///
    /// Every batch is decided as if the ones prepared before it had finished first, so the
    /// decisions (and the windows) are the same whether batches overlap or not:
    /// - a payment that an unfinished batch scores is neither scored nor added to any window
    ///   here: `finish` answers it with that batch's decision, handed over directly (`Handoff`),
    ///   not read back from the bounded cache, which may have forgotten it by then;
    /// - the unfinished batches' decisions are reserved in the cache (`DecisionCache.reserve`),
    ///   so a payment they will push out of it counts as forgotten already, whether or not they
    ///   have pushed it out yet (one thread decides it anew; so does this).
    ///
    /// Batches must finish in the order they were prepared, and every prepared batch must finish.
    /// The engine keeps track of its unfinished batches itself and waits only for the payments
    /// they score: a payment such a batch answered from the cache may have been pushed out of it
    /// since, and is then decided anew here, as on one thread.
    public func prepare(
        _ events: [PaymentEvent], mode: StoreMode = .update, receivedAt: ContinuousClock.Instant = .now
    ) async throws -> PreparedBatch {
        try await prepare(events, mode: mode, receivedAt: receivedAt, overlapping: true)
    }

    /// `overlapping`: the batch may be finished after the next one is prepared (`prepare(_:mode:receivedAt:)`),
    /// so it reserves its decisions and hands them over; false: it is finished before the next
    /// one is prepared, as `decide` does (a replay on one thread that reads `PreparedBatch.tooLate`).
    public func prepare(_ events: [PaymentEvent], mode: StoreMode, receivedAt: ContinuousClock.Instant, overlapping: Bool) async throws -> PreparedBatch {
        let rules = rules()
        let model = model()
        var batch = PreparedBatch(events: events, rules: rules, model: model, binding: binder.binding(rules: rules, model: model), mode: mode, receivedAt: receivedAt)
        guard !events.isEmpty else { return batch }

        // Read before the cache: a batch that finishes in between has remembered its decisions
        // before it leaves this list, so each of its payments is found in one or the other.
        let pending = unfinished.withLock { $0 }
        batch.decisions = await cache.decisions(for: events.map(\.paymentID))
        var settled = batch.decisions.map { $0 != nil }
        if !pending.isEmpty {
            for index in events.indices where !settled[index] {
                let paymentID = events[index].paymentID
                guard let handoff = pending.last(where: { $0.paymentIDs.contains(paymentID) }) else { continue }
                batch.waiting.append((index, handoff))
                settled[index] = true
            }
        }
        // Only the first occurrence of each unremembered payment is scored; later copies in the
        // same batch get the same decision.
        batch.firstIndex = BatchDuplicates.firstOccurrences(events, skipping: settled)
        batch.fresh.reserveCapacity(events.count)
        for index in events.indices where !settled[index] && (batch.firstIndex?[index] ?? index) == index {
            batch.fresh.append(index)
        }
        // A dry run's copies and remembered ids are no redeliveries of anything (docs/api.md: a
        // dry run counts in no decision metric).
        if mode == .update { metrics.recordDuplicates(events.count - batch.fresh.count) }
        guard !batch.fresh.isEmpty else { return batch }

        let scored = batch.scored
        let featuresStart = ContinuousClock.now
        var values = featureBuffers.take()
        do {
            let routed = try await featureRouter.features(for: scored, plan: batch.binding.plan, mode: mode, into: &values)
            batch.degraded = routed.degraded
            batch.tooLate = routed.report.tooLate
        } catch {
            featureBuffers.give(values)
            throw error
        }
        batch.values = values
        batch.modelStart = ContinuousClock.now
        metrics.record(.features, batch.modelStart - featuresStart)
        if overlapping && mode == .update {
            // The cache holds the last `kept` of them right after they are remembered; the
            // others are decided anew by a later batch, as on one thread.
            let kept = await cache.reserve(batch.fresh.count)
            let handoff = Handoff(paymentIDs: Set(batch.fresh.suffix(kept).map { events[$0].paymentID }))
            batch.reserved = batch.fresh.count
            batch.handoff = handoff
            unfinished.withLock { $0.append(handoff) }
        }
        return batch
    }

    /// The second half of `decide`: the model and the rules score the prepared batch, and its
    /// decisions are remembered. Batches must finish in the order they were prepared.
    public func finish(_ prepared: PreparedBatch) async -> [Decision] {
        await finishReportingReuses(prepared).decisions
    }

    /// `finish`, and which events were answered with a decision made for another event under
    /// their `payment_id` (`reportReuses`).
    public func finishReportingReuses(_ prepared: PreparedBatch) async -> DecidedBatch {
        var decisions = prepared.decisions
        for (index, handoff) in prepared.waiting {
            let paymentID = prepared.events[index].paymentID
            // Filled by the batch that scored it, which finished before this one (the caller's
            // contract, not the input's: no cache capacity or timing can break it).
            guard let decision = handoff.decision(for: paymentID) else {
                preconditionFailure("payment \(paymentID) waits for a batch prepared earlier that has not finished: batches must finish in the order they were prepared")
            }
            decisions[index] = decision
        }
        guard !prepared.fresh.isEmpty else {
            let answered = decisions.map { $0! }
            return reportReuses(prepared, answered, reused: Self.reused(prepared.events, answered, at: prepared.events.indices))
        }
        defer { featureBuffers.give(prepared.values) }

        let (batch, values, rules, model, binding) = (prepared.scored, prepared.values, prepared.rules, prepared.model, prepared.binding)
        let width = binding.plan.count
        let modelStart = prepared.modelStart
        var scores: [Double] = []
        var contributions: [ModelContribution] = []
        var perRow = 0
        if let model {
            let input = PlanBinding.matrix(values, rows: batch.count, width: width, columns: binding.modelColumns)
            let scored = scorers.scoreFlat(model, events: batch, features: input.values, featureCount: input.width, reasons: Self.modelReasons)
            (scores, contributions, perRow) = (scored.scores, scored.contributions, scored.perRow)
        }
        let rulesStart = ContinuousClock.now
        metrics.record(.model, rulesStart - modelStart)

        let rulesInput = PlanBinding.matrix(values, rows: batch.count, width: width, columns: binding.rulesColumns)
        let verdicts = rules.evaluate(events: batch, features: rulesInput.values, featureCount: rulesInput.width, modelScores: scores)
        let decidedAt = wallClock()
        let modelVersion = model?.version ?? "none"
        var made: [Decision] = []
        made.reserveCapacity(batch.count)
        for (row, event) in batch.enumerated() {
            let verdict = verdicts[row]
            var outcome = verdict.outcome
            if prepared.degraded { outcome = degradedPolicy.adjust(outcome, amount: event.amount, rates: rules.rates) }
            // One array per decision, sized once: the rules' reasons, then the model's.
            var reasons: [Reason] = []
            reasons.reserveCapacity(verdict.reasons.count + perRow)
            for reason in verdict.reasons { reasons.append(.rule(reason)) }
            for contribution in contributions[row * perRow ..< (row + 1) * perRow] { reasons.append(.model(contribution)) }
            made.append(Decision(
                paymentID: event.paymentID, outcome: outcome, modelScore: model == nil ? 0 : scores[row],
                riskPoints: verdict.riskPoints, reasons: reasons, rulesVersion: rules.version,
                modelVersion: modelVersion, featuresDegraded: prepared.degraded,
                eventTime: event.occurredAt, decidedAt: decidedAt, latencyMicros: 0,
                eventFingerprint: EventFingerprint.of(event)
            ))
        }
        let done = ContinuousClock.now
        metrics.record(.rules, done - rulesStart)
        metrics.record(.decide, done - prepared.receivedAt)
        let latency = Self.microseconds(done - prepared.receivedAt)
        for index in made.indices { made[index].latencyMicros = latency }

        // Another instance (or a concurrent HTTP call) may have decided the same payment first;
        // its decision stands and is the one returned, so a payment never gets two answers.
        var reused: [Int] = []
        if prepared.mode == .update {
            let submitted = made
            made = await cache.remember(made, reserved: prepared.reserved)
            // The standing decision is another's only where some instance decided the payment
            // first: compare the fingerprints, and look closer only where they differ. (The cache
            // returns the array it was given unless it replaced some, so `submitted` is no copy.)
            let rows = Self.reused(batch, made, at: made.indices.lazy.filter { made[$0].eventFingerprint != submitted[$0].eventFingerprint })
            reused = prepared.fresh.count == prepared.events.count ? rows : rows.map { prepared.fresh[$0] }
        }
        if let handoff = prepared.handoff {
            handoff.fill(made)
            unfinished.withLock { $0.removeAll { $0 === handoff } }
        }
        // What-if scoring (`dry_run`, read-only) decides nothing: counted, it would move the
        // decision and rule-hit series that dashboards and alerts read as production traffic.
        if prepared.mode == .update { metrics.recordDecisions(made) }
        // Every event fresh and distinct (the usual batch): the decisions are the answer as made.
        if prepared.fresh.count == prepared.events.count { return reportReuses(prepared, made, reused: reused) }
        // Answered by the cache, by an earlier batch's handoff, or (filled below) by the first
        // copy in this batch: each may have been made for another event with the same id.
        let answered = prepared.events.indices.filter { decisions[$0] != nil || (prepared.firstIndex?[$0] ?? $0) != $0 }
        for (row, index) in prepared.fresh.enumerated() { decisions[index] = made[row] }
        for index in prepared.events.indices where decisions[index] == nil {
            decisions[index] = decisions[prepared.firstIndex![index]]
        }
        let standing = decisions.map { $0! }
        reused += Self.reused(prepared.events, standing, at: answered)
        reused.sort()
        return reportReuses(prepared, standing, reused: reused)
    }

    /// A decision found for a `payment_id` answers it whatever the event says (the first decision
    /// stands: consumers apply one decision per payment), but a redelivery is the same event, and
    /// other content (`Decision.wasMade(for:)`: another `EventFingerprint`, or another
    /// `occurred_at` for a decision remembered without one) means the id was used for another
    /// payment: upstream gave two payments one id, or someone replays an approved id. Counted
    /// (`waqiti_payment_id_reuses_total`) and logged once per batch, so it does not pass unseen.
    /// Checked wherever a decision not made for the event answers it: the decision cache, an
    /// earlier batch's handoff, the first copy in the batch, and another instance's decision that
    /// `DecisionCache.remember` returns because it was remembered first.
    ///
    /// The indices (of `indices`) whose event is not the one its decision was made for.
    private static func reused(_ events: [PaymentEvent], _ decisions: [Decision], at indices: some Sequence<Int>) -> [Int] {
        indices.filter { !decisions[$0].wasMade(for: events[$0]) }
    }

    /// Counts and logs the batch's reused ids (not in a dry run, which counts nothing) and returns
    /// the batch's answer.
    private func reportReuses(_ prepared: PreparedBatch, _ decisions: [Decision], reused: [Int]) -> DecidedBatch {
        if prepared.mode == .update, let first = reused.first {
            metrics.recordReusedPaymentIDs(reused.count)
            let event = prepared.events[first]
            logger?.warning("payment_id reused for a different event: the id keeps the decision made for the first one, and this event gets none of its own", metadata: [
                "payment_id": "\(event.paymentID)", "event_time": "\(event.occurredAt)",
                "decided_event_time": "\(decisions[first].eventTime)", "in_batch": "\(reused.count)",
            ])
        }
        return DecidedBatch(decisions: decisions, reused: reused)
    }

    /// How many of the model's largest contributions each decision carries as reasons.
    static let modelReasons = 3

    static func microseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}

extension DegradedPolicy {
    /// The outcome of a decision whose features were degraded.
    public func adjust(_ outcome: Outcome, amount: Money, rates: ExchangeRates) -> Outcome {
        guard outcome == .approve else { return outcome }
        switch self {
        case .decide: return .approve
        case .reviewAll: return .review
        case .reviewAbove(let limit):
            // An amount that cannot be converted is treated as large: unknown risk is not low risk.
            guard let usd = rates.usd(amount) else { return .review }
            return usd > limit ? .review : .approve
        }
    }
}

/// A decided batch: one decision per event, in order, and the events among them that were
/// answered with a decision made for another event under their `payment_id`.
public struct DecidedBatch: Sendable {
    public var decisions: [Decision]
    /// Indices of those events, ascending. The engine has counted and logged them
    /// (`waqiti_payment_id_reuses_total`) and answered each with the standing decision; the
    /// transport decides what the caller gets: HTTP refuses them (409), the Kafka pipeline
    /// dead-letters them, a replay counts them.
    public var reused: [Int]

    public init(decisions: [Decision], reused: [Int]) {
        self.decisions = decisions
        self.reused = reused
    }

    /// Why `events[index]` (one of `reused`) is refused, for an error message or a dead letter.
    public func reuseExplanation(_ event: PaymentEvent, at index: Int) -> String {
        Self.reuseExplanation(event, standing: decisions[index])
    }

    /// Why `event` is refused when `standing` is the decision its payment_id already has (made for
    /// another event): the text of the dead letter, the 409 and the replay's report alike.
    public static func reuseExplanation(_ event: PaymentEvent, standing: Decision) -> String {
        "payment_id \"\(event.paymentID)\" was already decided for another event (event_time \(standing.eventTime)); a payment_id names one payment: send this payment under a new payment_id"
    }
}

/// A batch between `DecisionEngine.prepare` and `finish`: its features computed, not yet scored.
public struct PreparedBatch: Sendable {
    let events: [PaymentEvent]
    let rules: RuleSet
    let model: CompiledModel?
    let binding: PlanBinding
    let mode: StoreMode
    let receivedAt: ContinuousClock.Instant
    /// Remembered before this batch (nil for the others).
    var decisions: [Decision?] = []
    /// Events whose payment a batch prepared earlier and not finished scores, with the handoff
    /// that batch's `finish` fills.
    var waiting: [(index: Int, from: Handoff)] = []
    /// This batch's decisions for the next batches (public `prepare`, `.update` only).
    var handoff: Handoff?
    /// Decisions reserved in the cache (`DecisionCache.reserve`): the fresh events' count.
    var reserved = 0
    /// See `BatchDuplicates.firstOccurrences`.
    var firstIndex: [Int]?
    /// The events scored: the first occurrence of each payment neither remembered nor waiting.
    var fresh: [Int] = []
    /// Their feature rows (`binding.plan`), one per fresh event.
    var values: [Double] = []
    var degraded = false
    /// Events the feature store read but did not add to the windows: later than the allowed
    /// lateness (`BatchReport.tooLate`). A replay reports them (`ReplaySummary.tooLate`).
    public internal(set) var tooLate = 0
    var modelStart = ContinuousClock.now

    init(events: [PaymentEvent], rules: RuleSet, model: CompiledModel?, binding: PlanBinding, mode: StoreMode, receivedAt: ContinuousClock.Instant) {
        self.events = events
        self.rules = rules
        self.model = model
        self.binding = binding
        self.mode = mode
        self.receivedAt = receivedAt
    }

    /// The fresh events, in batch order.
    var scored: [PaymentEvent] { fresh.count == events.count ? events : fresh.map { events[$0] } }
}

/// The decisions an unfinished batch makes, for the batches prepared after it that carry the
/// same payments: filled by its `finish`, read by theirs.
final class Handoff: Sendable {
    /// The payments the batch scores that the cache will still hold once it has remembered them.
    let paymentIDs: Set<String>
    private let decisions = Mutex<[String: Decision]?>(nil)

    init(paymentIDs: Set<String>) {
        self.paymentIDs = paymentIDs
    }

    func fill(_ made: [Decision]) {
        var byPayment: [String: Decision] = [:]
        byPayment.reserveCapacity(paymentIDs.count)
        for decision in made where paymentIDs.contains(decision.paymentID) { byPayment[decision.paymentID] = decision }
        decisions.withLock { $0 = byPayment }
    }

    /// Nil until the batch has finished.
    func decision(for paymentID: String) -> Decision? {
        decisions.withLock { $0?[paymentID] }
    }
}
