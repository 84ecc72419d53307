import Engine
import Hummingbird

/// `GET /v1/rules`: the live rule set's version, its rules and thresholds in file order, and
/// each one's matches since start.
struct RulesRoutes<Context: RequestContext>: Sendable {
    let engine: DecisionEngine

    struct Listing: Encodable {
        struct Rule: Encodable {
            var name: String
            /// `allow`, `review` or `decline`; a threshold's is the outcome it sets.
            var action: String
            var points: Int
            var shadow: Bool
            var threshold: Bool
            var hits: Int
        }
        var version: String
        var modelVersion: String
        var features: [String]
        var rules: [Rule]

        enum CodingKeys: String, CodingKey {
            case version, rules, features
            case modelVersion = "model_version"
        }
    }

    func register(on router: Router<Context>) {
        router.get("/v1/rules") { _, _ in
            try Caller.require(.rulesRead)
            let rules = engine.currentRules
            let hits = engine.metrics.ruleHitCounts
            let listing = Listing(
                version: rules.version,
                modelVersion: engine.currentModel?.version ?? "none",
                features: engine.currentPlan.features.map(\.canonicalName),
                rules: rules.listing.map {
                    .init(name: $0.name, action: $0.action.rawValue, points: $0.points, shadow: $0.shadow, threshold: $0.isThreshold,
                          hits: hits[$0.name] ?? 0)
                }
            )
            return try Response.json(listing)
        }
    }
}
