import FraudCore
import Features

/// A numeric expression compiled from DSL text for the model: `log1p(amount_usd)`,
/// `count(card_fingerprint, 1h)`, `card_country != ip_country` (1/0), `channel == "ecom"` (1/0,
/// for one-hot), `distinct(ip, account_id, 24h)`, `hour_of_day()`.
///
/// It evaluates to a Double: booleans are 1 or 0, money is US dollars, durations are seconds, and
/// NaN means missing (the model decides how to impute). Aggregates are registered in the
/// `FeaturePlan` given at compile time; evaluation reads their columns from a feature row of that
/// plan (or of any plan that extends it: columns only ever get appended).
public struct FeatureExpression: Sendable, CustomStringConvertible {
    /// The text as written.
    public let source: String
    /// The aggregates this expression reads, as registered in the plan.
    public let features: [FeatureSpec]
    /// A row must have at least this many columns.
    public let requiredColumns: Int
    /// The rates `amount_usd` and money comparisons use.
    public let rates: ExchangeRates
    fileprivate let evaluator: NumericCode
    /// The same expression for the condition machine, which batch evaluation runs.
    fileprivate let lowered: NumberNode

    public var description: String { source }

    /// Compiles `text`, registering its aggregates into `plan`.
    /// - Throws: `RulesCompileError` with every problem as `<expression>:1:col: message`.
    public init(_ text: String, plan: inout FeaturePlan, rates: ExchangeRates = .builtIn, origin: String = "<expression>") throws(RulesCompileError) {
        var sink = DiagnosticSink(file: origin)
        guard let node = Parser.parseExpression(text, sink: &sink), !sink.hasErrors else {
            throw RulesCompileError(diagnostics: sink.diagnostics)
        }
        let before = plan.count
        var compiler = Compiler(file: origin, plan: plan, rates: rates)
        compiler.sink = sink
        guard let compiled = compiler.compile(node), !compiler.sink.hasErrors else {
            throw RulesCompileError(diagnostics: compiler.sink.diagnostics)
        }
        guard let numeric = compiled.code?.numeric(rates: rates) else {
            let message = compiled.list != nil ? "a feature expression must be a number or a bool, not a list"
                : "a feature expression must be a number, money, a duration or a bool (1/0), not a \(compiled.type); compare it (channel == \"ecom\") to one-hot encode it"
            throw RulesCompileError(diagnostics: [Diagnostic(file: origin, location: node.location, message: message)])
        }
        let used = Set(Read.flatten(compiled.reads).map(\.name))
        plan = compiler.plan
        self.source = text
        self.rates = rates
        self.features = plan.features.filter { used.contains($0.canonicalName) }
        self.requiredColumns = Swift.max(plan.count, before)
        self.evaluator = NumericCode(run: numeric)
        self.lowered = switch compiled.type {
        case .bool: .truth(compiled.boolNode)
        case .int, .decimal: compiled.number ?? .closure(numeric)
        default: .closure(numeric)
        }
    }

    /// Evaluates on one event and its feature row.
    public func evaluate(event: PaymentEvent, features row: UnsafeBufferPointer<Double>) -> Double {
        precondition(row.count >= requiredColumns || features.isEmpty, "feature row has \(row.count) columns; the plan needs \(requiredColumns)")
        let frame = Frame(event: event, row: row.baseAddress ?? Frame.emptyRow, lets: 0, rates: rates)
        return evaluator.run(frame)
    }

    public func evaluate(event: PaymentEvent, features row: [Double]) -> Double {
        row.withUnsafeBufferPointer { evaluate(event: event, features: $0) }
    }

    /// Evaluates `expressions` over a batch: `features` is row-major (`events.count × featureCount`),
    /// `out` is resized to `events.count × expressions.count`, row-major (one row per event).
    /// A caller that evaluates the same expressions for every batch keeps a `FeatureExpressionList`.
    public static func evaluate(_ expressions: [FeatureExpression], events: [PaymentEvent], features: [Double], featureCount: Int, into out: inout [Double]) {
        FeatureExpressionList(expressions).evaluate(events: events, features: features, featureCount: featureCount, into: &out)
    }
}

/// Expressions prepared once for batch evaluation (a model's columns): compiled together into one
/// `ConditionProgram`, the flat instructions the rules run on, so evaluating a batch touches no
/// reference counts. Evaluating each expression's closures instead retained and released their
/// contexts on every call: 27 columns of the default model cost about 5% of `decide`'s CPU in
/// retains and releases alone (`perf record -e cpu-clock -g waqiti-bench decide --profile 512 --events 100000 --runs 5`).
public struct FeatureExpressionList: Sendable {
    public let expressions: [FeatureExpression]
    let program: ConditionProgram
    /// A feature row must have at least this many columns (0 when no expression reads an aggregate).
    private let requiredColumns: Int
    private let rates: ExchangeRates

    public init(_ expressions: [FeatureExpression]) {
        self.expressions = expressions
        rates = expressions.first?.rates ?? .builtIn
        // Feature expressions declare no `let`s: the machine needs no let slots.
        program = ConditionProgram(conditions: [], numbers: expressions.map(\.lowered), letCount: 0, rates: rates)
        requiredColumns = expressions.filter { !$0.features.isEmpty }.map(\.requiredColumns).max() ?? 0
    }

    public var count: Int { expressions.count }

    /// `features` is row-major (`events.count × featureCount`); `out` is resized to
    /// `events.count × count`, row-major (one row per event).
    public func evaluate(events: [PaymentEvent], features: [Double], featureCount: Int, into out: inout [Double]) {
        precondition(features.count == events.count * featureCount, "feature matrix is \(features.count) values; expected \(events.count) × \(featureCount)")
        precondition(requiredColumns <= featureCount, "feature matrix has fewer columns than the plan the expressions were compiled with")
        out.removeAll(keepingCapacity: true)
        guard !events.isEmpty else { return }
        let width = count
        out.append(contentsOf: repeatElement(.nan, count: events.count * width))
        // Values are stored into the sized matrix, not appended one by one.
        features.withUnsafeBufferPointer { matrix in
            events.withUnsafeBufferPointer { batch in
                out.withUnsafeMutableBufferPointer { out in
                    let frame = Frame(event: .placeholder, row: matrix.baseAddress ?? Frame.emptyRow, lets: 0, rates: rates)
                    ConditionMachine.withMachine(program, frame: frame) { machine in
                        for index in batch.indices {
                            frame.load(batch.baseAddress! + index, row: (matrix.baseAddress ?? Frame.emptyRow) + index * featureCount, modelScore: .nan)
                            for column in 0..<width { out[index * width + column] = machine.expression(column) }
                        }
                    }
                }
            }
        }
    }
}

/// Compiled numeric code. The closures capture only immutable compile-time data (constants,
/// sets, compiled patterns, rates), and every mutable thing they touch lives in the per-call
/// `Frame`, so sharing them across threads is safe.
struct NumericCode: @unchecked Sendable {
    let run: (Frame) -> Double
}
