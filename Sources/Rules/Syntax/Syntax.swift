import FraudCore

/// An expression as written, before names are resolved and types checked.
indirect enum Expression: Sendable {
    case integer(Int64)
    case decimal(String)
    case string(String)
    case boolean(Bool)
    case duration(EventDuration)
    /// `5.00 USD`: the number's text and the currency.
    case money(String, Currency)
    case list([Node])
    case listReference(String)
    /// A field, a `let`, `amount`, `model_score`, `risk_points`.
    case name(String)
    /// `count(card_fingerprint, 10m, where channel == "ecom")`; `filter` is the `where` condition.
    case call(String, [Node], filter: Node?)
    case not(Node)
    case negate(Node)
    case binary(BinaryOperator, Node, Node)

    /// One node with the place it starts, for error messages.
    struct Node: Sendable {
        var expression: Expression
        var location: SourceLocation
        /// Height of the tree under this node; the parser caps it so compiling cannot exhaust the stack.
        var depth: Int

        init(_ expression: Expression, at location: SourceLocation) {
            self.expression = expression
            self.location = location
            self.depth = 1 + (expression.children.map(\.depth).max() ?? 0)
        }
    }

    var children: [Node] {
        switch self {
        case .list(let nodes): nodes
        case .call(_, let arguments, let filter): arguments + (filter.map { [$0] } ?? [])
        case .not(let node), .negate(let node): [node]
        case .binary(_, let l, let r): [l, r]
        default: []
        }
    }
}

enum BinaryOperator: String, Sendable {
    case or, and
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case isIn = "in", notIn = "not in", like, matches
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"

    var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: true
        default: false
        }
    }

    var isArithmetic: Bool {
        switch self {
        case .add, .subtract, .multiply, .divide, .remainder: true
        default: false
        }
    }
}

/// A reason template: literal text with `{expression}` holes.
struct TemplateSyntax: Sendable {
    enum Part: Sendable {
        case text(String)
        case hole(Expression.Node, source: String)
    }

    var parts: [Part]
    var location: SourceLocation
}

struct RuleSyntax: Sendable {
    var name: String
    var location: SourceLocation
    var shadow: Bool
    var action: RuleAction
    var points: Int
    var condition: Expression.Node
    var reason: TemplateSyntax?
}

struct ThresholdSyntax: Sendable {
    var name: String?
    var location: SourceLocation
    var action: RuleAction
    var condition: Expression.Node
    /// Where the condition's text starts (an unnamed threshold is named after it).
    var conditionStart: SourceLocation
}

enum ListSourceSyntax: Sendable {
    case inline([Expression.Node])
    case file(String, SourceLocation)
}

/// One top-level declaration of a rules file.
enum Declaration: Sendable {
    case version(String, SourceLocation)
    case binding(name: String, Expression.Node, SourceLocation)
    case list(name: String, ListSourceSyntax, SourceLocation)
    case rule(RuleSyntax)
    case threshold(ThresholdSyntax)
}
