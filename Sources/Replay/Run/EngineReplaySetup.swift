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
        let file = { (path: String) in String(path.split(separator: "/").last ?? Substring(path)) }
        return file(rulesPath) + (modelPath.map { " + " + file($0) } ?? "")
    }

    public var ruleDescriptors: [RuleDescriptor] {
        rules.listing.map { RuleDescriptor(name: $0.name, action: $0.action, shadow: $0.shadow) }
    }
}

/// Builds the `DecisionEngine`s a replay decides with: the same engine type, configuration of
/// rules, model and in-memory windows as `waqiti serve`, one per configuration, all reading one
/// `SharedFeatureStore` so features are computed once per batch for the union of their plans.
public struct EngineReplaySetup: Sendable {
    public var baseline: ReplayScoring
    public var candidate: ReplayScoring?
    /// Features the caller wants besides the engines' (`--features` with `--features-out`).
    public var extraFeatures: [FeatureSpec]
    public var lateness: EventDuration
    /// How many payment ids the engine's decision cache remembers to answer redeliveries.
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

    /// The replay loop's configurations and the store they share.
    public func make(onFeatures: @escaping @Sendable ([PaymentEvent], FeaturePlan, [Double]) throws -> Void = { _, _, _ in }) -> (replay: DecisionReplay, store: SharedFeatureStore) {
        let store = SharedFeatureStore(
            InMemoryFeatureStore(configuration: .init(lateness: lateness, rates: baseline.rules.rates, parallelism: storeParallelism)), union: unionPlan,
            consumers: candidate == nil ? 1 : 2, onComputed: onFeatures
        )
        let logger = Logger(label: "waqiti.replay")
        func configuration(_ scoring: ReplayScoring) -> ReplayConfiguration {
            let router = FeatureRouter(local: store, shared: nil, storeOf: { _ in .memory }, probeInterval: .seconds(5), logger: logger)
            let rules = scoring.rules, model = scoring.model
            let engine = DecisionEngine(
                rules: { rules }, model: { model }, features: router,
                cache: InMemoryDecisionCache(capacity: dedupCapacity), degradedPolicy: .decide
            )
            let stages = ReplayConfiguration.Stages(
                prepare: { events, inFlight in try await engine.prepare(events, inFlight: inFlight) },
                finish: { prepared in await engine.finish(prepared) })
            return ReplayConfiguration(name: scoring.name, rules: scoring.ruleDescriptors, stages: stages) { events in
                try await engine.decide(events)
            }
        }
        let replay = DecisionReplay(baseline: configuration(baseline), candidate: candidate.map(configuration))
        return (replay, store)
    }
}
