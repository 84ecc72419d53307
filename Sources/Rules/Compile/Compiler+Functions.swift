import FraudCore
import Features
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Compiler {
    static let aggregateNames: Set<String> = Set(AggregateKind.allCases.map(\.rawValue))
    static let scalarFunctionNames: Set<String> = [
        "is_missing", "coalesce", "log1p", "log", "exp", "sqrt", "abs", "floor", "ceil", "round",
        "hour_of_day", "day_of_week", "lower", "upper", "length",
    ]
    static let functionNames: Set<String> = aggregateNames.union(scalarFunctionNames)

    mutating func compileCall(_ name: String, _ arguments: [Expression.Node], filter: Expression.Node?, at: SourceLocation) -> Compiled? {
        // min/max are aggregates with a window (3 arguments) and math with two.
        if let kind = AggregateKind(rawValue: name), !((kind == .min || kind == .max) && arguments.count == 2 && filter == nil) {
            return compileAggregate(kind, arguments, filter: filter, at: at)
        }
        guard Compiler.functionNames.contains(name) else {
            return error("unknown function '\(name)'\(Suggestion.hint(for: name, in: Compiler.functionNames))", at: at)
        }
        if filter != nil { return error("only aggregates take a 'where' filter; '\(name)' does not", at: at) }
        var compiled: [Compiled] = []
        for argument in arguments {
            guard let c = compile(argument) else { return nil }
            if c.list != nil { return error("'\(name)' does not take a list", at: argument.location) }
            compiled.append(c)
        }
        guard let result = scalarFunction(name, compiled, at: at) else { return nil }
        // Event-time functions read the event even with no arguments; never fold them.
        if name == "hour_of_day" || name == "day_of_week" { return result }
        return fold(result, compiled)
    }

    private mutating func arity(_ name: String, _ arguments: [Compiled], _ count: Int, _ usage: String, at: SourceLocation) -> Bool {
        guard arguments.count == count else {
            sink.error("'\(name)' takes \(count) argument\(count == 1 ? "" : "s"): \(usage)", at: at)
            return false
        }
        return true
    }

    private mutating func scalarFunction(_ name: String, _ args: [Compiled], at: SourceLocation) -> Compiled? {
        let reads = Compiled.merge(args)
        switch name {
        case "is_missing":
            guard arity(name, args, 1, "is_missing(x)", at: at) else { return nil }
            let test: (Frame) -> Truth
            var lowered: BoolNode?
            if let field = args[0].field, args[0].type.isText {
                lowered = .textMissing(field)
            } else if args[0].type == .bool {
                lowered = .boolMissing(args[0].boolNode)
            } else if let number = args[0].numberNode {
                lowered = .numberMissing(number)
            }
            switch args[0].code! {
            case .bool(let f): test = { Truth(f($0) == .unknown) }
            case .int(let f): test = { Truth(f($0) == nil) }
            case .decimal(let f): test = { Truth(f($0) == nil) }
            case .string(let f): test = { Truth(f($0) == nil) }
            case .money(let f): test = { Truth(f($0) == nil) }
            case .duration(let f): test = { Truth(f($0) == nil) }
            }
            var compiled = Compiled(type: .bool, code: .bool(test), reads: reads)
            compiled.bool = lowered
            return compiled
        case "coalesce":
            guard arity(name, args, 2, "coalesce(x, fallback)", at: at) else { return nil }
            switch (args[0].code!, args[1].code!) {
            case (.int(let a), .int(let b)): return Compiled(type: .int, code: .int { a($0) ?? b($0) }, reads: reads)
            case (.string(let a), .string(let b)): return Compiled(type: args[0].type, code: .string { a($0) ?? b($0) }, reads: reads)
            case (.money(let a), .money(let b)): return Compiled(type: .money, code: .money { a($0) ?? b($0) }, reads: reads)
            case (.duration(let a), .duration(let b)): return Compiled(type: .duration, code: .duration { a($0) ?? b($0) }, reads: reads)
            case (.bool(let a), .bool(let b)): return Compiled(type: .bool, code: .bool { let t = a($0); return t == .unknown ? b($0) : t }, reads: reads)
            default:
                if let a = Compiler.decimal(args[0].code!), let b = Compiler.decimal(args[1].code!) {
                    return Compiled(type: .decimal, code: .decimal { a($0) ?? b($0) }, reads: reads)
                }
                return error("coalesce needs two values of one type, found \(args[0].type) and \(args[1].type)", at: at)
            }
        case "log1p", "log", "exp", "sqrt":
            guard arity(name, args, 1, "\(name)(number)", at: at) else { return nil }
            guard let f = Compiler.decimal(args[0].code!) else { return error("'\(name)' needs a number, found \(args[0].type)", at: at) }
            let function = MathFunction(name: name)!
            var compiled = Compiled(type: .decimal, code: .decimal { f($0).map(function.apply).flatMap { $0.isNaN ? nil : $0 } }, reads: reads)
            compiled.number = args[0].numberNode.map { .math(function, $0) }
            return compiled
        case "abs":
            guard arity(name, args, 1, "abs(number)", at: at) else { return nil }
            switch args[0].code! {
            case .int(let f): return Compiled(type: .int, code: .int { f($0).flatMap { $0 == .min ? nil : Swift.abs($0) } }, reads: reads)
            case .decimal(let f): return Compiled(type: .decimal, code: .decimal { f($0).map { Swift.abs($0) } }, reads: reads)
            case .money(let f): return Compiled(type: .money, code: .money { f($0).flatMap { $0.minorUnits == .min ? nil : Money(minorUnits: Swift.abs($0.minorUnits), currency: $0.currency) } }, reads: reads)
            default: return error("'abs' needs a number or money, found \(args[0].type)", at: at)
            }
        case "floor", "ceil", "round":
            guard arity(name, args, 1, "\(name)(number)", at: at) else { return nil }
            if case .int = args[0].code! { return args[0] }
            guard case .decimal(let f) = args[0].code! else { return error("'\(name)' needs a number, found \(args[0].type)", at: at) }
            let rule: FloatingPointRoundingRule = name == "floor" ? .down : name == "ceil" ? .up : .toNearestOrAwayFromZero
            return Compiled(type: .int, code: .int { f($0).flatMap { Int64(exactly: $0.rounded(rule)) } }, reads: reads)
        case "min", "max":
            let isMin = name == "min"
            switch (args[0].code!, args[1].code!) {
            case (.int(let a), .int(let b)):
                return Compiled(type: .int, code: .int { frame in
                    guard let x = a(frame), let y = b(frame) else { return nil }
                    return isMin ? Swift.min(x, y) : Swift.max(x, y)
                }, reads: reads)
            case (.money(let a), .money(let b)):
                let rates = self.rates
                return Compiled(type: .money, code: .money { frame in
                    guard let x = a(frame), let y = b(frame), let order = Compiler.order(x, y, rates) else { return nil }
                    return (order <= 0) == isMin ? x : y
                }, reads: reads)
            default:
                guard let a = Compiler.decimal(args[0].code!), let b = Compiler.decimal(args[1].code!) else {
                    return error("'\(name)(a, b)' needs two numbers or two amounts of money, found \(args[0].type) and \(args[1].type)", at: at)
                }
                return Compiled(type: .decimal, code: .decimal { frame in
                    guard let x = a(frame), let y = b(frame) else { return nil }
                    return isMin ? Swift.min(x, y) : Swift.max(x, y)
                }, reads: reads)
            }
        case "hour_of_day", "day_of_week":
            guard arity(name, args, 0, "\(name)() of the event time in UTC", at: at) else { return nil }
            let code: Code = name == "hour_of_day"
                ? .int { Compiler.floorDivide($0.event.occurredAt.millisecondsSinceEpoch, 3_600_000) %% 24 }
                // 1970-01-01 was a Thursday; ISO weekdays run Monday = 1 … Sunday = 7.
                : .int { (Compiler.floorDivide($0.event.occurredAt.millisecondsSinceEpoch, 86_400_000) + 3) %% 7 + 1 }
            return Compiled(type: .int, code: code, reads: [Read(name: "\(name)()", code: code)])
        case "lower", "upper", "length":
            guard arity(name, args, 1, "\(name)(string)", at: at) else { return nil }
            guard args[0].type.isText, case .string(let f) = args[0].code! else { return error("'\(name)' needs a string, found \(args[0].type)", at: at) }
            switch name {
            case "lower": return Compiled(type: .string, code: .string { f($0)?.lowercased() }, reads: reads)
            case "upper": return Compiled(type: .string, code: .string { f($0)?.uppercased() }, reads: reads)
            default: return Compiled(type: .int, code: .int { f($0).map { Int64($0.count) } }, reads: reads)
            }
        default:
            return error("unknown function '\(name)'", at: at)
        }
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    // MARK: Aggregates

    mutating func compileAggregate(_ kind: AggregateKind, _ arguments: [Expression.Node], filter: Expression.Node?, at: SourceLocation) -> Compiled? {
        let usage: String = switch kind {
        case .count: "count(KEY, WINDOW), e.g. count(card_fingerprint, 10m)"
        case .distinct: "distinct(FIELD, KEY, WINDOW), e.g. distinct(ip, account_id, 24h)"
        case .secondsSinceFirst, .secondsSinceLast: "\(kind.rawValue)(KEY), e.g. \(kind.rawValue)(device_id)"
        default: "\(kind.rawValue)(FIELD, KEY, WINDOW), e.g. \(kind.rawValue)(amount_usd, account_id, 24h)"
        }
        let expected = (kind.takesField ? 1 : 0) + 1 + (kind.takesWindow ? 1 : 0)
        guard arguments.count == expected else {
            return error("'\(kind.rawValue)' takes \(expected) argument\(expected == 1 ? "" : "s"): \(usage)", at: at)
        }
        var index = 0
        var field: EventField?
        if kind.takesField {
            guard let f = eventField(arguments[0], role: "the field \(kind.rawValue) reads") else { return nil }
            if kind != .distinct, !f.isNumeric {
                return error("'\(kind.rawValue)' needs a numeric field (amount_usd or amount_minor); '\(f.name)' is a string", at: arguments[0].location)
            }
            field = f
            index = 1
        }
        guard let key = eventField(arguments[index], role: "the key of the window") else { return nil }
        var window: EventDuration?
        if kind.takesWindow {
            let node = arguments[index + 1]
            switch node.expression {
            case .duration(let d) where d.milliseconds > 0 && d <= FeatureSpec.maximumWindow: window = d
            case .duration(let d) where d.milliseconds > 0:
                return error("the window \(d) is longer than the longest allowed, \(FeatureSpec.maximumWindow)", at: node.location)
            case .duration: return error("the window must be longer than 0", at: node.location)
            case .integer(let n): return error("durations need units: write \(n)m, \(n)h or \(n)d, not \(n)", at: node.location)
            default: return error("the window must be a duration literal such as 10m or 24h", at: node.location)
            }
        }
        var featureFilter: FeatureFilter?
        if let filter {
            var clauses: [FeatureFilter.Clause] = []
            guard collectClauses(filter, into: &clauses) else { return nil }
            featureFilter = FeatureFilter(clauses: clauses)
        }
        let spec = FeatureSpec(kind: kind, field: field, key: key, window: window, filter: featureFilter)
        let column = plan.register(spec)
        let integral = kind == .count || kind == .distinct || kind == .secondsSinceFirst || kind == .secondsSinceLast
            || ((kind == .sum || kind == .min || kind == .max) && field == .amountMinor)
        let code: Code = integral
            ? .int { frame in
                let v = frame.row[column]
                return v.isNaN ? nil : Int64(exactly: v.rounded())
            }
            : .decimal { frame in
                let v = frame.row[column]
                return v.isNaN ? nil : v
            }
        var compiled = Compiled(type: integral ? .int : .decimal, code: code, reads: [Read(name: spec.canonicalName, code: code)])
        compiled.number = .column(column, integral: integral)
        return compiled
    }

    private mutating func eventField(_ node: Expression.Node, role: String) -> EventField? {
        guard case .name(let name) = node.expression else {
            sink.error("\(role) must be an event field such as card_fingerprint", at: node.location)
            return nil
        }
        if let field = EventField(name: name) { return field }
        if name == "amount" {
            sink.error("'amount' mixes currencies; aggregate amount_usd (converted) or amount_minor", at: node.location)
        } else {
            let names = Array(EventField.named.keys)
            sink.error("unknown field '\(name)'\(Suggestion.hint(for: name, in: names))", at: node.location)
        }
        return nil
    }

    /// `where` filters are a conjunction of `field == "v"`, `field != "v"`, `field in [...]`/`@list`, `field not in …`.
    private mutating func collectClauses(_ node: Expression.Node, into clauses: inout [FeatureFilter.Clause]) -> Bool {
        let usage = "a 'where' filter compares event fields with strings, joined by 'and' (e.g. where channel == \"ecom\" and type != \"refund\")"
        guard case .binary(let op, let lhs, let rhs) = node.expression else {
            sink.error(usage, at: node.location)
            return false
        }
        if op == .and { return collectClauses(lhs, into: &clauses) && collectClauses(rhs, into: &clauses) }
        let filterOp: FeatureFilter.Operator
        switch op {
        case .equal: filterOp = .equal
        case .notEqual: filterOp = .notEqual
        case .isIn: filterOp = .isIn
        case .notIn: filterOp = .notIn
        default:
            sink.error(usage, at: node.location)
            return false
        }
        guard let field = eventField(lhs, role: "the left side of a 'where' clause") else { return false }
        if field.isNumeric {
            sink.error("a 'where' clause compares a string field; '\(field.name)' is a number: compare it in the rule's condition instead", at: lhs.location)
            return false
        }
        var values: [String]
        switch rhs.expression {
        case .string(let s) where op == .equal || op == .notEqual:
            values = [s]
        case .list, .listReference:
            guard let compiled = compile(rhs), case .strings(let set)? = compiled.list else {
                sink.error(usage, at: rhs.location)
                return false
            }
            values = set.sorted()
        default:
            sink.error(usage, at: rhs.location)
            return false
        }
        if let problem = Compiler.unknownEnumValue(field, values) {
            sink.error(problem, at: rhs.location)
            return false
        }
        if field == .cardCountry || field == .ipCountry, let bad = values.first(where: { !Compiler.isCountryCode($0) }) {
            sink.error("\"\(bad)\" is not a country code; countries are two upper-case letters (ISO 3166-1 alpha-2) such as \"US\"", at: rhs.location)
            return false
        }
        clauses.append(FeatureFilter.Clause(field: field, op: filterOp, values: values))
        return true
    }
}

infix operator %% : MultiplicationPrecedence

/// Remainder with the sign of the divisor, for calendar arithmetic on times before 1970.
func %% (a: Int64, b: Int64) -> Int64 {
    let r = a % b
    return r < 0 ? r + b : r
}
