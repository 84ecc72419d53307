import Features
import FraudCore
import Rules

/// Computes a model's raw feature values from events and their velocity-feature rows: the one
/// type both `waqiti train` and the streaming engine call, so training and serving evaluate the
/// same compiled expressions over the same feature-store output (no train/serve skew).
public struct ModelFeatureExtractor: Sendable {
    public var expressions: [FeatureExpression] { compiled.expressions }
    private let compiled: FeatureExpressionList
    /// The expressions' source text, one per model column.
    public var names: [String] { expressions.map(\.source) }

    /// Compiles each expression, registering the aggregates it reads into `plan`.
    /// - Parameter origin: prefix of error messages, e.g. the model file's path.
    /// - Throws: `ModelFileError` naming `features[i].expression` with the compiler's diagnostics.
    public init(expressions texts: [String], plan: inout FeaturePlan, rates: ExchangeRates = .builtIn, origin: String) throws(ModelFileError) {
        var expressions: [FeatureExpression] = []
        for (index, text) in texts.enumerated() {
            let key = "features[\(index)].expression"
            do throws(RulesCompileError) {
                expressions.append(try FeatureExpression(text, plan: &plan, rates: rates, origin: "expression"))
            } catch {
                let messages = error.diagnostics.map { "\($0.location): \($0.message)" }.joined(separator: "; ")
                throw ModelFileError(file: origin, key: key, message: "does not compile: \"\(text)\" at \(messages)")
            }
        }
        compiled = FeatureExpressionList(expressions)
    }

    /// Fills `raw` (resized to `events.count × expressions.count`, row-major, NaN = missing) from
    /// the events and the feature store's output for them (`events.count × featureCount`).
    public func extract(events: [PaymentEvent], features: [Double], featureCount: Int, into raw: inout [Double]) {
        self.compiled.evaluate(events: events, features: features, featureCount: featureCount, into: &raw)
    }
}

/// A model file loaded and its expressions compiled: what the engine scores with.
public struct CompiledModel: Sendable {
    public let model: LogisticModel
    public let extractor: ModelFeatureExtractor
    /// The plan the expressions were compiled against (the base plan plus the model's
    /// aggregates); feature rows must come from this plan or one that extends it.
    public let plan: FeaturePlan
    /// Where it was loaded from, for logs and errors.
    public let path: String
    /// `model.version`, computed once: it hashes the whole model (SHA-256 of its coefficients as
    /// text, ~90 µs), and the engine reads it for every batch, which for HTTP is every request.
    public let version: String

    /// Loads and validates `path`, then compiles its features into `plan`.
    public static func load(path: String, plan: inout FeaturePlan, rates: ExchangeRates = .builtIn) throws(ModelFileError) -> CompiledModel {
        let model = try ModelFileDecoder.load(path: path)
        return try CompiledModel(model: model, path: path, plan: &plan, rates: rates)
    }

    public init(model: LogisticModel, path: String, plan: inout FeaturePlan, rates: ExchangeRates = .builtIn) throws(ModelFileError) {
        self.model = model
        self.path = path
        self.version = model.version
        self.extractor = try ModelFeatureExtractor(expressions: model.features.map(\.expression), plan: &plan, rates: rates, origin: path)
        self.plan = plan
    }
}
