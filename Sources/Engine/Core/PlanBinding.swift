import Features
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
final class PlanBinder: Sendable {
    private struct State {
        var plan = FeaturePlan()
        var rulesVersion: String?
        var modelVersion: String?
        var binding = PlanBinding(plan: FeaturePlan(), rulesColumns: nil, modelColumns: nil)
    }

    private let state = Mutex(State())

    var plan: FeaturePlan { state.withLock { $0.plan } }

    func binding(rules: RuleSet, model: CompiledModel?) -> PlanBinding {
        state.withLock { state in
            if state.rulesVersion == rules.version, state.modelVersion == model?.version {
                return state.binding
            }
            let rulesColumns = Self.bind(rules.featurePlan, into: &state.plan)
            let modelColumns = model.map { Self.bind($0.plan, into: &state.plan) } ?? nil
            state.binding = PlanBinding(plan: state.plan, rulesColumns: rulesColumns, modelColumns: modelColumns)
            state.rulesVersion = rules.version
            state.modelVersion = model?.version
            return state.binding
        }
    }

    /// Registers `component`'s features; nil when its columns are a prefix of the plan's.
    private static func bind(_ component: FeaturePlan, into plan: inout FeaturePlan) -> [Int]? {
        let columns = component.features.map { plan.register($0) }
        return columns.enumerated().allSatisfy { $0.offset == $0.element } ? nil : columns
    }
}
