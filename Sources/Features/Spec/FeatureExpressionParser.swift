import FraudCore

/// Why a feature expression was rejected: what and where (1-based column in the parsed text).
public struct FeatureParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var column: Int

    public init(_ message: String, column: Int) {
        self.message = message
        self.column = column
    }

    public var description: String { "column \(column): \(message)" }
}

extension FeatureSpec {
    /// Parses one feature expression: `count(card_fingerprint, 10m)`,
    /// `sum(amount_usd, account_id, 24h, where channel == "ecom" and type in ["payment","transfer"])`,
    /// `seconds_since_last(device_id)`. Whitespace is free; the result's `canonicalName` is the
    /// normal form.
    public init(parsing text: String) throws(FeatureParseError) {
        var parser = FeatureExpressionParser(text: text)
        self = try parser.parseExpression()
        try parser.expectEnd()
    }

    /// Parses a comma-separated list, as `waqiti replay --features` takes it; commas inside an
    /// expression's parentheses or brackets belong to the expression. Error columns are in `text`.
    public static func parseList(_ text: String) throws(FeatureParseError) -> [FeatureSpec] {
        var specs: [FeatureSpec] = []
        var parser = FeatureExpressionParser(text: text)
        repeat {
            specs.append(try parser.parseExpression())
        } while try parser.consumeListSeparator()
        return specs
    }
}

/// A small hand-written recursive-descent parser over the expression's bytes.
struct FeatureExpressionParser {
    private let bytes: [UInt8]
    private var position = 0

    init(text: String) { bytes = Array(text.utf8) }

    private var column: Int { position + 1 }

    private mutating func skipSpaces() {
        while position < bytes.count, bytes[position] == UInt8(ascii: " ") || bytes[position] == UInt8(ascii: "\t") || bytes[position] == UInt8(ascii: "\n") {
            position += 1
        }
    }

    private func isWordByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
    }

    /// The next word (identifier, window literal) and its column, or nil if none starts here.
    private mutating func word() -> (text: String, column: Int)? {
        skipSpaces()
        let start = position
        while position < bytes.count, isWordByte(bytes[position]) { position += 1 }
        guard position > start else { return nil }
        return (String(decoding: bytes[start..<position], as: UTF8.self), start + 1)
    }

    private mutating func peek(_ symbol: String) -> Bool {
        skipSpaces()
        let s = Array(symbol.utf8)
        return position + s.count <= bytes.count && Array(bytes[position..<(position + s.count)]) == s
    }

    private mutating func consume(_ symbol: String) -> Bool {
        guard peek(symbol) else { return false }
        position += symbol.utf8.count
        return true
    }

    private mutating func expect(_ symbol: String, after what: String) throws(FeatureParseError) {
        guard consume(symbol) else { throw FeatureParseError("expected '\(symbol)' \(what), found \(found())", column: column) }
    }

    private mutating func found() -> String {
        skipSpaces()
        guard position < bytes.count else { return "end of input" }
        let end = min(bytes.count, position + 12)
        return "'\(String(decoding: bytes[position..<end], as: UTF8.self))'"
    }

    mutating func expectEnd() throws(FeatureParseError) {
        skipSpaces()
        guard position == bytes.count else {
            let hint = bytes[position] == UInt8(ascii: ",") ? " (one expression expected; use a list for several)" : ""
            throw FeatureParseError("unexpected \(found()) after the expression\(hint)", column: column)
        }
    }

    mutating func consumeListSeparator() throws(FeatureParseError) -> Bool {
        skipSpaces()
        if position == bytes.count { return false }
        guard consume(",") else { throw FeatureParseError("expected ',' between features, found \(found())", column: column) }
        return true
    }

    mutating func parseExpression() throws(FeatureParseError) -> FeatureSpec {
        guard let name = word() else { throw FeatureParseError("expected an aggregate such as count(…), found \(found())", column: column) }
        guard let kind = AggregateKind(rawValue: name.text) else {
            let known = AggregateKind.allCases.map(\.rawValue)
            throw FeatureParseError("unknown aggregate '\(name.text)'\(suggestion(for: name.text, among: known)); aggregates are \(known.joined(separator: ", "))", column: name.column)
        }
        try expect("(", after: "after '\(name.text)'")
        let usage = FeatureExpressionParser.usage(kind)
        var arguments: [(text: String, column: Int)] = []
        var filter: FeatureFilter?
        while true {
            guard let argument = word() else {
                throw FeatureParseError("expected an argument of \(usage), found \(found())", column: column)
            }
            if argument.text == "where" {
                filter = try parseFilter()
                try expect(")", after: "to close \(name.text)(…): the where clause must come last")
                break
            }
            arguments.append(argument)
            if consume(")") { break }
            try expect(",", after: "between the arguments of \(usage)")
        }
        let expected = 1 + (kind.takesField ? 1 : 0) + (kind.takesWindow ? 1 : 0)
        guard arguments.count == expected else {
            throw FeatureParseError("\(name.text) takes \(usage): \(expected) argument\(expected == 1 ? "" : "s") before any where, got \(arguments.count)", column: name.column)
        }
        var index = 0
        var field: EventField?
        if kind.takesField {
            let f = try eventField(arguments[0])
            if kind != .distinct, !f.isNumeric {
                throw FeatureParseError("\(name.text) needs a numeric field (amount_minor or amount_usd), got '\(f.name)'", column: arguments[0].column)
            }
            field = f
            index = 1
        }
        let key = try eventField(arguments[index])
        var window: EventDuration?
        if kind.takesWindow {
            let literal = arguments[index + 1]
            guard let duration = EventDuration(parsing: literal.text) else {
                throw FeatureParseError("invalid window '\(literal.text)': expected a whole number followed by ms, s, m, h or d (e.g. 30s, 10m, 24h, 7d)", column: literal.column)
            }
            guard duration.milliseconds > 0 else { throw FeatureParseError("window must be longer than 0", column: literal.column) }
            guard duration <= FeatureSpec.maximumWindow else {
                throw FeatureParseError("window '\(literal.text)' is longer than the longest allowed, \(FeatureSpec.maximumWindow)", column: literal.column)
            }
            window = duration
        }
        return FeatureSpec(kind: kind, field: field, key: key, window: window, filter: filter)
    }

    private mutating func parseFilter() throws(FeatureParseError) -> FeatureFilter {
        var clauses: [FeatureFilter.Clause] = []
        repeat {
            guard let name = word() else { throw FeatureParseError("expected a field after 'where', found \(found())", column: column) }
            let field = try eventField(name)
            let op: FeatureFilter.Operator
            if consume("==") {
                op = .equal
            } else if consume("!=") {
                op = .notEqual
            } else if let keyword = word(), keyword.text == "in" || keyword.text == "not" {
                if keyword.text == "not" {
                    guard word()?.text == "in" else { throw FeatureParseError("expected 'in' after 'not'", column: keyword.column) }
                    op = .notIn
                } else {
                    op = .isIn
                }
            } else {
                throw FeatureParseError("expected ==, !=, in or not in after '\(field.name)', found \(found())", column: column)
            }
            var values: [String] = []
            if op == .isIn || op == .notIn {
                try expect("[", after: "to start the list of '\(op.rawValue)'")
                repeat { values.append(try stringLiteral()) } while consume(",")
                try expect("]", after: "to close the list")
            } else {
                values.append(try stringLiteral())
            }
            clauses.append(FeatureFilter.Clause(field: field, op: op, values: values))
        } while try consumeAnd()
        return FeatureFilter(clauses: clauses)
    }

    private mutating func consumeAnd() throws(FeatureParseError) -> Bool {
        let saved = position
        guard let next = word() else { return false }
        if next.text == "and" { return true }
        if next.text == "or" { throw FeatureParseError("only 'and' may join filter clauses; write two features instead of 'or'", column: next.column) }
        position = saved
        return false
    }

    private mutating func stringLiteral() throws(FeatureParseError) -> String {
        skipSpaces()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
            throw FeatureParseError("expected a double-quoted string, found \(found())", column: column)
        }
        let start = position
        position += 1
        var value: [UInt8] = []
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: value, as: UTF8.self)
            }
            if b == UInt8(ascii: "\\"), position + 1 < bytes.count {
                position += 1
            }
            value.append(bytes[position])
            position += 1
        }
        throw FeatureParseError("unterminated string", column: start + 1)
    }

    private func eventField(_ argument: (text: String, column: Int)) throws(FeatureParseError) -> EventField {
        if let field = EventField(name: argument.text) { return field }
        let known = EventField.named.keys.sorted()
        throw FeatureParseError("unknown field '\(argument.text)'\(suggestion(for: argument.text, among: known + ["metadata.KEY"]))", column: argument.column)
    }

    static func usage(_ kind: AggregateKind) -> String {
        switch kind {
        case .count: "count(KEY, WINDOW)"
        case .sum, .avg, .min, .max, .distinct: "\(kind.rawValue)(FIELD, KEY, WINDOW)"
        case .secondsSinceFirst, .secondsSinceLast: "\(kind.rawValue)(KEY)"
        }
    }
}

/// "; did you mean 'x'?" for the closest candidate within a small edit distance, else "".
func suggestion(for word: String, among candidates: [String]) -> String {
    let limit = max(1, min(3, word.count / 3))
    var best: (String, Int)?
    for candidate in candidates {
        let d = editDistance(word, candidate)
        if d <= limit, d < (best?.1 ?? .max) { best = (candidate, d) }
    }
    return best.map { "; did you mean '\($0.0)'?" } ?? ""
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.utf8), y = Array(b.utf8)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous2 = [Int](repeating: 0, count: y.count + 1)
    var previous = Array(0...y.count)
    var current = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        current[0] = i
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                current[j] = min(current[j], previous2[j - 2] + 1)
            }
        }
        (previous2, previous, current) = (previous, current, previous2)
    }
    return previous[y.count]
}
