import Engine
import Features
import FraudCore
import Logging
import Model
import Rules

/// A rule set and an optional model, loaded the way `waqiti serve` loads them.
public struct ReplayScoring: Sendable {
    public var rules: RuleSet
    public var model: CompiledModel?
    public var rulesPath: String
    public var modelPath: String?

    /// Compiles the model's features first and the rules on top of its plan, as serve does, so
    /// both read one row per event.
    public static func load(rulesPath: String, modelPath: String?) throws -> ReplayScoring {
        var plan = FeaturePlan()
        let model = try modelPath.map { path in try CompiledModel.load(path: path, plan: &plan) }
        let rules = try RuleSetLoader(rulesPath: rulesPath, basePlan: plan).load()
        return ReplayScoring(rules: rules, model: model, rulesPath: rulesPath, modelPath: modelPath)
    }

    /// `default.rules` or `default.rules + fraud-v3.model`, for summaries and reports.
    public var name: String {
        Self.trailing(rulesPath, 1) + (modelPath.map { " + " + Self.trailing($0, 1) } ?? "")
    }

    /// Names for a baseline and a candidate that tell them apart in a summary or report: the file
    /// names, each with as much of its folders as it takes when the names are the same
    /// (`rules/default.rules` against `candidates/default.rules`), and "(baseline)" and
    /// "(candidate)" when the paths are the same too.
    public static func names(baseline: ReplayScoring, candidate: ReplayScoring) -> (baseline: String, candidate: String) {
        guard baseline.rulesPath != candidate.rulesPath || baseline.modelPath != candidate.modelPath else {
            return (baseline.name + " (baseline)", candidate.name + " (candidate)")
        }
        let rules = distinguished(baseline.rulesPath, candidate.rulesPath)
        var names = (baseline: rules.0, candidate: rules.1)
        switch (baseline.modelPath, candidate.modelPath) {
        case (let a?, let b?):
            let models = distinguished(a, b)
            names.baseline += " + " + models.0
            names.candidate += " + " + models.1
        case (let a?, nil): names.baseline += " + " + trailing(a, 1)
        case (nil, let b?): names.candidate += " + " + trailing(b, 1)
        case (nil, nil): break
        }
        return names
    }

    /// The last `count` components of a path.
    private static func trailing(_ path: String, _ count: Int) -> String {
        path.split(separator: "/").suffix(count).joined(separator: "/")
    }

    /// Two paths shortened to the fewest trailing components that differ (file names alone when
    /// the paths are equal or the names differ).
    private static func distinguished(_ a: String, _ b: String) -> (String, String) {
        let depth = max(a.split(separator: "/").count, b.split(separator: "/").count)
        for count in 1...max(1, depth) where trailing(a, count) != trailing(b, count) {
            return (trailing(a, count), trailing(b, count))
        }
        return (trailing(a, 1), trailing(b, 1))
    }

    public var ruleDescriptors: [RuleDescriptor] {
        rules.listing.map { RuleDescriptor(name: $0.name, action: $0.action, shadow: $0.shadow) }
    }
}

/// Builds the `DecisionEngine`s a replay decides with: the same engine type, configuration of
/// rules, model and in-memory windows as `waqiti serve`, one per configuration, all reading one
/// `SharedFeatureStore` so features are computed once per batch for the union of their plans.
/// A candidate whose rules bring other exchange rates (another `rates.json`) gets windows of its
/// own instead: `amount_usd` features are converted with the rates of the rules they serve.
public struct EngineReplaySetup: Sendable {
    public var baseline: ReplayScoring
    public var candidate: ReplayScoring?
    /// Features the caller wants besides the engines' (`--features` with `--features-out`).
    public var extraFeatures: [FeatureSpec]
    public var lateness: EventDuration
    /// How many payment ids the engine's decision cache remembers to answer redeliveries; at
    /// least `minimumDedupCapacity(batchSize:)`.
    public var dedupCapacity: Int
    /// Threads the in-memory store applies a batch's shards on (`--workers`); results do not
    /// depend on it.
    public var storeParallelism = 1

    public init(baseline: ReplayScoring, candidate: ReplayScoring? = nil, extraFeatures: [FeatureSpec] = [], lateness: EventDuration = .minutes(5), dedupCapacity: Int = 1 << 18) {
        self.baseline = baseline
        self.candidate = candidate
        self.extraFeatures = extraFeatures
        self.lateness = lateness
        self.dedupCapacity = dedupCapacity
    }

    /// The smallest decision cache a replay with batches of `batchSize` events may use: two
    /// batches. A cache smaller than a batch made the decisions depend on `--batch-size`: a
    /// redelivery a few events later was answered from the cache within one batch and decided
    /// anew across two. Two batches keep a redelivery within a batch or two of its first delivery
    /// remembered however the batches split. (`--workers` ≥ 2 no longer depends on it: the engine
    /// hands batch n's decisions to batch n + 1 directly, `DecisionEngine.prepare`.)
    public static func minimumDedupCapacity(batchSize: Int) -> Int { 2 * batchSize }

    /// Every feature the replay computes: the extra features first (their columns stay put for
    /// the features writer), then the baseline's and the candidate's.
    public var unionPlan: FeaturePlan {
        var plan = FeaturePlan(extraFeatures)
        for scoring in [baseline] + (candidate.map { [$0] } ?? []) {
            for feature in scoring.rules.featurePlan.features { plan.register(feature) }
            for feature in scoring.model?.plan.features ?? [] { plan.register(feature) }
        }
        return plan
    }

    /// True when the candidate converts amounts with other rates than the baseline, so the two
    /// cannot share windows (see the type's comment).
    public var candidateHasOwnRates: Bool {
        candidate.map { $0.rules.rates != baseline.rules.rates } ?? false
    }

    /// The replay loop's configurations and the baseline's store (shared with the candidate
    /// unless `candidateHasOwnRates`). `onFeatures` sees the baseline's feature rows.
    public func make(onFeatures: @escaping @Sendable ([PaymentEvent], FeaturePlan, [Double]) throws -> Void = { _, _, _ in }) -> (replay: DecisionReplay, store: SharedFeatureStore) {
        func windows(_ rates: ExchangeRates) -> InMemoryFeatureStore {
            InMemoryFeatureStore(configuration: .init(lateness: lateness, rates: rates, parallelism: storeParallelism))
        }
        let ownRates = candidateHasOwnRates
        let store = SharedFeatureStore(windows(baseline.rules.rates), union: unionPlan, consumers: candidate == nil || ownRates ? 1 : 2, onComputed: onFeatures)
        let candidateStore = ownRates ? SharedFeatureStore(windows(candidate!.rules.rates), union: unionPlan) : store
        let logger = Logger(label: "waqiti.replay")
        func configuration(_ scoring: ReplayScoring, name: String, store: SharedFeatureStore) -> ReplayConfiguration {
            let router = FeatureRouter(local: store, shared: nil, storeOf: { _ in .memory }, probeInterval: .seconds(5), logger: logger)
            let rules = scoring.rules, model = scoring.model
            let engine = DecisionEngine(
                rules: { rules }, model: { model }, features: router,
                cache: InMemoryDecisionCache(capacity: dedupCapacity), degradedPolicy: .decide
            )
            let stages = ReplayConfiguration.Stages(
                prepare: { events, overlapping in try await engine.prepare(events, mode: .update, receivedAt: .now, overlapping: overlapping) },
                finish: { prepared in await engine.finish(prepared) })
            return ReplayConfiguration(name: name, rules: scoring.ruleDescriptors, stages: stages) { events in
                try await engine.decide(events)
            }
        }
        let replay: DecisionReplay
        if let candidate {
            let names = ReplayScoring.names(baseline: baseline, candidate: candidate)
            replay = DecisionReplay(baseline: configuration(baseline, name: names.baseline, store: store), candidate: configuration(candidate, name: names.candidate, store: candidateStore))
        } else {
            replay = DecisionReplay(baseline: configuration(baseline, name: baseline.name, store: store))
        }
        return (replay, store)
    }
}
