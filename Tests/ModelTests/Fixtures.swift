import FraudCore
@testable import Model

enum Fixtures {
    static func time(_ text: String) -> EventTime { RFC3339.parse(text)! }

    /// A three-feature model whose encoded text the malformed-file table edits.
    static let model = LogisticModel(
        name: "fixture",
        features: [
            ModelFeature(expression: "log1p(amount_usd)", weight: 0.5, mean: 3, std: 1.5, clipLower: 0, clipUpper: 12),
            ModelFeature(expression: "count(card_fingerprint,1h)", weight: 1.25, mean: 1, std: 2, clipLower: 0, clipUpper: 40),
            ModelFeature(expression: "channel == \"ecom\"", weight: -0.75, mean: 0.5, std: 0.5, clipLower: 0, clipUpper: 1),
        ],
        bias: -4,
        training: TrainingSummary(
            input: "data/labeled.jsonl", trainRows: 800, validationRows: 200, fraudRate: 0.0125,
            trainFrom: time("2026-11-01T00:00:00.000Z"), trainTo: time("2026-11-24T23:59:59.000Z"),
            validationFrom: time("2026-11-25T00:00:00.000Z"), validationTo: time("2026-11-30T23:59:59.000Z"),
            seed: 1, l2: 0.0001, classWeight: .none, iterations: 42, stopReason: "converged"
        ),
        evaluation: EvaluationSummary(rows: 200, aucROC: 0.9375, aucPR: 0.5, logLoss: 0.0625)
    )

    /// Two features with round statistics, so standardized values are exact: z₀ = (x₀ − 1)/2, z₁ = x₁.
    static let twoFeatureModel = LogisticModel(
        name: "two",
        features: [
            ModelFeature(expression: "amount_usd", weight: 2, mean: 1, std: 2, clipLower: -10, clipUpper: 10),
            ModelFeature(expression: "count(ip,10m)", weight: -1, mean: 0, std: 1, clipLower: -10, clipUpper: 10),
        ],
        bias: 0.5, training: model.training, evaluation: model.evaluation
    )
}
