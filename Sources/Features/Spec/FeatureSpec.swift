import FraudCore

/// The aggregates a velocity feature can compute over a key's sliding window.
public enum AggregateKind: String, Hashable, Sendable, CaseIterable {
    case count, sum, avg, min, max, distinct
    case secondsSinceFirst = "seconds_since_first"
    case secondsSinceLast = "seconds_since_last"

    /// Whether the aggregate reads a value field (`sum(FIELD, KEY, W)`) besides the key.
    public var takesField: Bool {
        switch self {
        case .sum, .avg, .min, .max, .distinct: true
        case .count, .secondsSinceFirst, .secondsSinceLast: false
        }
    }

    /// Whether the aggregate has a window argument (`seconds_since_*` look at the key's whole retained history).
    public var takesWindow: Bool {
        switch self {
        case .secondsSinceFirst, .secondsSinceLast: false
        default: true
        }
    }
}

/// An optional filter on the events a feature counts: `where channel == "ecom" and type != "refund"`.
/// Clauses are conjunctive; each compares one event field to string literals.
public struct FeatureFilter: Hashable, Sendable {
    public enum Operator: String, Hashable, Sendable {
        case equal = "==", notEqual = "!=", isIn = "in", notIn = "not in"
    }

    public struct Clause: Hashable, Sendable {
        public var field: EventField
        public var op: Operator
        public var values: [String]

        public init(field: EventField, op: Operator, values: [String]) {
            self.field = field
            self.op = op
            self.values = values
        }
    }

    public var clauses: [Clause]

    public init(clauses: [Clause]) { self.clauses = clauses }
}

/// One velocity feature, e.g. `sum(amount_minor,card_fingerprint,1h)`.
///
/// Identity is the canonical name: the expression with all whitespace removed. Two rules that write
/// the same aggregate with different spacing share one feature, computed once.
public struct FeatureSpec: Hashable, Sendable, CustomStringConvertible {
    public var kind: AggregateKind
    /// The value field for sum/avg/min/max/distinct; nil for count and seconds_since_*.
    public var field: EventField?
    /// The entity the window belongs to: `card_fingerprint`, `account_id`, `ip`, …
    public var key: EventField
    /// Window length W; the window of an event at time t is (t − W, t]. Nil for seconds_since_*.
    public var window: EventDuration?
    public var filter: FeatureFilter?

    /// The longest window a feature may have: a year and a day, beyond any velocity check. Both
    /// parsers refuse longer ones; `count(card_fingerprint, 9223372036854775807ms)` passed before
    /// and trapped when the store added the lateness to it, at a hot reload too.
    public static let maximumWindow = EventDuration.days(366)

    public init(kind: AggregateKind, field: EventField? = nil, key: EventField, window: EventDuration? = nil, filter: FeatureFilter? = nil) {
        self.kind = kind
        self.field = field
        self.key = key
        self.window = window
        self.filter = filter
    }

    /// `count(card_fingerprint,10m)`, `sum(amount_usd,account_id,24h)`,
    /// `count(card_fingerprint,1h,where channel=="ecom")`: the expression without whitespace,
    /// except the single spaces that keep `where`, `in` and `not in` readable.
    public var canonicalName: String {
        var args: [String] = []
        if let field { args.append(field.name) }
        args.append(key.name)
        if let window { args.append(window.description) }
        var text = "\(kind.rawValue)(\(args.joined(separator: ","))"
        if let filter, !filter.clauses.isEmpty {
            let clauses = filter.clauses.map { clause -> String in
                // Escaped as the parser reads them back: unescaped, `in ["a\",\"b"]` (one value)
                // and `in ["a","b"]` (two) had one name, and a plan registered them as one feature.
                let literals = clause.values.map { value in
                    "\"" + value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
                }
                switch clause.op {
                case .equal, .notEqual: return "\(clause.field.name)\(clause.op.rawValue)\(literals[0])"
                case .isIn, .notIn: return "\(clause.field.name) \(clause.op.rawValue) [\(literals.joined(separator: ","))]"
                }
            }
            text += ",where \(clauses.joined(separator: " and "))"
        }
        return text + ")"
    }

    public var description: String { canonicalName }

    /// Whether the result is integral (counts, distinct counts, sums/min/max of `amount_minor`,
    /// seconds since): written as a JSON integer in feature output. Averages and USD amounts are numbers.
    public var isIntegral: Bool {
        switch kind {
        case .count, .distinct, .secondsSinceFirst, .secondsSinceLast: true
        case .avg: false
        case .sum, .min, .max: field == .amountMinor
        }
    }
}

/// The ordered, de-duplicated set of features one engine configuration needs: the union of what
/// the rules and the model reference. A feature's position in the plan is its column in every
/// feature matrix the stores fill.
public struct FeaturePlan: Hashable, Sendable {
    public private(set) var features: [FeatureSpec]
    private var columnByName: [String: Int]

    public init(_ features: [FeatureSpec] = []) {
        self.features = []
        self.columnByName = [:]
        for feature in features { register(feature) }
    }

    /// Adds the feature if new and returns its column either way.
    @discardableResult
    public mutating func register(_ feature: FeatureSpec) -> Int {
        let name = feature.canonicalName
        if let column = columnByName[name] { return column }
        features.append(feature)
        columnByName[name] = features.count - 1
        return features.count - 1
    }

    public func column(of feature: FeatureSpec) -> Int? { columnByName[feature.canonicalName] }
    public func column(named canonicalName: String) -> Int? { columnByName[canonicalName] }
    public var count: Int { features.count }

    /// The longest window among the plan's features (state older than this plus lateness is dropped).
    public var longestWindow: EventDuration {
        features.compactMap(\.window).max() ?? .days(1)
    }
}
