import FraudCore

/// A rule or threshold ready to run: its condition closure, what to report when it matches.
/// A class so the evaluation loop touches one reference per rule, not a copy of its fields.
final class CompiledRule: @unchecked Sendable {
    /// Unique within the set; a threshold without a name is named after its condition.
    let name: String
    let action: RuleAction
    let points: Int
    let shadow: Bool
    let isThreshold: Bool
    let line: Int
    // Closures capture only immutable compile-time data; per-event state lives in the Frame.
    let condition: (Frame) -> Truth
    let reads: [Read]
    let template: CompiledTemplate?

    init(name: String, action: RuleAction, points: Int, shadow: Bool, isThreshold: Bool, line: Int,
         condition: @escaping (Frame) -> Truth, reads: [Read], template: CompiledTemplate?) {
        self.name = name
        self.action = action
        self.points = points
        self.shadow = shadow
        self.isThreshold = isThreshold
        self.line = line
        self.condition = condition
        self.reads = reads
        self.template = template
    }

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
