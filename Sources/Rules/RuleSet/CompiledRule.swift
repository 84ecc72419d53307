import FraudCore

/// A rule or threshold ready to run: its condition closure, what to report when it matches.
struct CompiledRule: @unchecked Sendable {
    /// Unique within the set; a threshold without a name is named after its condition.
    var name: String
    var action: RuleAction
    var points: Int
    var shadow: Bool
    var isThreshold: Bool
    var line: Int
    // Closures capture only immutable compile-time data; per-event state lives in the Frame.
    var condition: (Frame) -> Truth
    var reads: [Read]
    var template: CompiledTemplate?

    func reason(_ frame: Frame) -> RuleReason {
        RuleReason(
            rule: name, action: action, points: isThreshold ? 0 : points, shadow: shadow,
            values: reads.map { NamedValue(name: $0.name, value: $0.code.value(frame).reported) },
            message: template?.render(frame)
        )
    }
}

/// A `because "…"` template with its holes compiled.
struct CompiledTemplate: @unchecked Sendable {
    enum Part {
        case text(String)
        case value(Code)
    }

    var parts: [Part]

    func render(_ frame: Frame) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .value(let code): out += code.value(frame).text
            }
        }
        return out
    }
}
