import Features
import Logging
import Model
import Rules
import Synchronization

/// How the engine's one feature plan feeds the rule set and the model.
///
/// The engine computes every feature once per batch over its plan: the union of the rule set's
/// and the model's plans, in the order they were first seen. Columns are only ever appended, so
/// windows stay valid across reloads. A component whose plan is a prefix of the engine's (the
/// normal case: the model compiles on the rules' plan or the other way round) reads the engine's
/// rows directly; one whose columns diverged after a reload gets its columns gathered per batch.
struct PlanBinding: Sendable {
    let plan: FeaturePlan
    /// Nil when the rule set reads the engine's rows directly.
    let rulesColumns: [Int]?
    let modelColumns: [Int]?

    /// The matrix a component compiled against `columns` reads: the engine's own, or gathered.
    static func matrix(_ values: [Double], rows: Int, width: Int, columns: [Int]?) -> (values: [Double], width: Int) {
        guard let columns else { return (values, width) }
        var gathered = [Double](repeating: .nan, count: rows * columns.count)
        for row in 0..<rows {
            for (target, source) in columns.enumerated() {
                gathered[row * columns.count + target] = values[row * width + source]
            }
        }
        return (gathered, columns.count)
    }
}

/// Keeps the engine's plan and binds each new (rule set, model) pair to it once.
///
/// When a pair brings features the plan lacks, the plan grows and the binder logs which key
/// fields' windows restart. This is the exact list: it compares the engine's own plans, which also
/// hold the model's features and those of every earlier rule set, where the rules watcher's reload
/// line can only compare the new set with the previous one (`RuleSet.restartedKeyFields`).
final class PlanBinder: Sendable {
    private struct State {
        var plan = FeaturePlan()
        var rulesVersion: String?
        var modelVersion: String?
        var binding = PlanBinding(plan: FeaturePlan(), rulesColumns: nil, modelColumns: nil)
    }

    private let state = Mutex(State())
    private let logger: Logger?

    init(logger: Logger? = nil) { self.logger = logger }

    /// What growing `old` into `new` did, for the log: nil when nothing was added (or at start, when
    /// there were no windows to restart).
    static func growth(from old: FeaturePlan, to new: FeaturePlan) -> (added: [String], restarted: [String])? {
        guard old.count > 0, new.count > old.count else { return nil }
        return (new.features[old.count...].map(\.canonicalName), old.restartedKeyFields(becoming: new).map(\.name))
    }

    var plan: FeaturePlan { state.withLock { $0.plan } }

    func binding(rules: RuleSet, model: CompiledModel?) -> PlanBinding {
        state.withLock { state in
            if state.rulesVersion == rules.version, state.modelVersion == model?.version {
                return state.binding
            }
            let old = state.plan
            let rulesColumns = Self.bind(rules.featurePlan, into: &state.plan)
            let modelColumns = model.map { Self.bind($0.plan, into: &state.plan) } ?? nil
            state.binding = PlanBinding(plan: state.plan, rulesColumns: rulesColumns, modelColumns: modelColumns)
            state.rulesVersion = rules.version
            state.modelVersion = model?.version
            if let logger, let growth = Self.growth(from: old, to: state.plan) {
                let metadata: Logger.Metadata = [
                    "rules_version": "\(rules.version)", "model_version": "\(model?.version ?? "none")",
                    "features_added": .array(growth.added.map { .string($0) }),
                    "windows_restarted": .array(growth.restarted.map { .string($0) }),
                ]
                if growth.restarted.isEmpty {
                    logger.info("feature plan grew to \(state.plan.count) features; no key field's windows restart", metadata: metadata)
                } else {
                    logger.notice("feature plan grew to \(state.plan.count) features; the windows of \(growth.restarted.joined(separator: ", ")) restart", metadata: metadata)
                }
            }
            return state.binding
        }
    }

    /// Registers `component`'s features; nil when its columns are a prefix of the plan's.
    private static func bind(_ component: FeaturePlan, into plan: inout FeaturePlan) -> [Int]? {
        let columns = component.features.map { plan.register($0) }
        return columns.enumerated().allSatisfy { $0.offset == $0.element } ? nil : columns
    }
}
