import FraudCore

extension Compiler {
    mutating func compileNegate(_ operand: Expression.Node, at: SourceLocation) -> Compiled? {
        guard let inner = compile(operand) else { return nil }
        let code: Code
        switch inner.code {
        case .int(let f)?: code = .int { f($0).flatMap { $0 == .min ? nil : -$0 } }
        case .decimal(let f)?: code = .decimal { f($0).map { -$0 } }
        case .money(let f)?: code = .money { f($0).flatMap { $0.minorUnits == .min ? nil : Money(minorUnits: -$0.minorUnits, currency: $0.currency) } }
        case .duration(let f)?: code = .duration { f($0).flatMap { $0 == .min ? nil : -$0 } }
        default: return error("unary '-' needs a number, money or a duration, found \(inner.type)", at: at)
        }
        return fold(Compiled(type: inner.type, code: code, reads: inner.reads), [inner])
    }

    mutating func compileBinary(_ op: BinaryOperator, _ lhs: Expression.Node, _ rhs: Expression.Node, at: SourceLocation) -> Compiled? {
        let left = compile(lhs)
        let right = compile(rhs)
        guard let left, let right else { return nil }
        let result: Compiled?
        switch op {
        case .and, .or: result = logic(op, left, right, at: at)
        case .isIn, .notIn: result = membership(op == .notIn, left, right, at: at)
        case .like, .matches: result = pattern(op, left, right, patternAt: rhs.location, at: at)
        case _ where op.isComparison: result = comparison(op, left, right, at: at)
        default: result = arithmetic(op, left, right, at: at)
        }
        return result.map { fold($0, [left, right]) }
    }

    // MARK: Logic

    private mutating func logic(_ op: BinaryOperator, _ left: Compiled, _ right: Compiled, at: SourceLocation) -> Compiled? {
        guard case .bool(let l)? = left.code, case .bool(let r)? = right.code else {
            let culprit = left.type == .bool ? right.type : left.type
            return error("'\(op.rawValue)' needs bool operands, found \(culprit)", at: at)
        }
        let reads = Compiled.merge([left, right])
        if op == .and {
            return lowered(.and(left.boolNode, right.boolNode), Compiled(type: .bool, code: .bool { frame in
                let a = l(frame)
                if a == .no { return .no }
                let b = r(frame)
                if b == .no { return .no }
                return a == .yes && b == .yes ? .yes : .unknown
            }, reads: reads))
        }
        return lowered(.or(left.boolNode, right.boolNode), Compiled(type: .bool, code: .bool { frame in
            let a = l(frame)
            if a == .yes { return .yes }
            let b = r(frame)
            if b == .yes { return .yes }
            return a == .no && b == .no ? .no : .unknown
        }, reads: reads))
    }

    private func lowered(_ node: BoolNode?, _ compiled: Compiled) -> Compiled {
        var compiled = compiled
        compiled.bool = node
        return compiled
    }

    /// The machine form of a comparison the closures below implement, when it has one.
    private func loweredComparison(_ op: BinaryOperator, _ left: Compiled, _ right: Compiled) -> BoolNode? {
        guard let compare = CompareOperator(op) else { return nil }
        switch (left.type, right.type) {
        case (.int, .int):
            // Both exact in a Double (columns, risk points, small constants), or Int64 precision stays with the closure.
            guard let l = left.number, let r = right.number else { return nil }
            return .compare(compare, l, r)
        case (.int, .decimal), (.decimal, .int), (.decimal, .decimal):
            guard let l = left.numberNode, let r = right.numberNode else { return nil }
            return .compare(compare, l, r)
        case (.money, .money):
            guard left.isEventAmount, case .money(let constant)? = right.constant else { return nil }
            return .amountCompare(compare, constant)
        default:
            guard left.type.isText, right.type.isText, compare == .equal || compare == .notEqual else { return nil }
            let equal: BoolNode
            if let field = left.field, case .string(let text)? = right.constant {
                equal = field == .type || field == .channel ? .enumIn(field, [text]) : .textIn(field, [text])
            } else if let field = right.field, case .string(let text)? = left.constant {
                equal = field == .type || field == .channel ? .enumIn(field, [text]) : .textIn(field, [text])
            } else if let l = left.field, let r = right.field {
                equal = .textEquals(l, r)
            } else {
                return nil
            }
            return compare == .equal ? equal : .not(equal)
        }
    }

    // MARK: Comparison

    private mutating func comparison(_ op: BinaryOperator, _ left: Compiled, _ right: Compiled, at: SourceLocation) -> Compiled? {
        let reads = Compiled.merge([left, right])
        let ordered = op != .equal && op != .notEqual
        let machine = loweredComparison(op, left, right)
        func done(_ code: @escaping (Frame) -> Truth) -> Compiled { lowered(machine, Compiled(type: .bool, code: .bool(code), reads: reads)) }
        switch (left.type, right.type) {
        case (.int, .int):
            guard case .int(let l)? = left.code, case .int(let r)? = right.code else { break }
            return done(Compiler.compare(op, l, r, constant: right.constant.flatMap { if case .int(let v) = $0 { v } else { nil } }))
        case (.int, .decimal), (.decimal, .int), (.decimal, .decimal):
            guard let l = Compiler.decimal(left.code!), let r = Compiler.decimal(right.code!) else { break }
            let constant: Double? = switch right.constant { case .int(let i)?: Double(i); case .decimal(let d)?: d; default: nil }
            return done(Compiler.compare(op, l, r, constant: constant))
        case (.duration, .duration):
            guard case .duration(let l)? = left.code, case .duration(let r)? = right.code else { break }
            return done(Compiler.compare(op, l, r, constant: right.constant.flatMap { if case .duration(let v) = $0 { v } else { nil } }))
        case (.money, .money):
            guard case .money(let l)? = left.code, case .money(let r)? = right.code else { break }
            let rates = self.rates
            let test = Compiler.orderingTest(op)
            return done { frame in
                guard let a = l(frame), let b = r(frame), let order = Compiler.order(a, b, rates) else { return .unknown }
                return Truth(test(order))
            }
        case (.bool, .bool) where !ordered:
            guard case .bool(let l)? = left.code, case .bool(let r)? = right.code else { break }
            let wantEqual = op == .equal
            return done { frame in
                let a = l(frame), b = r(frame)
                if a == .unknown || b == .unknown { return .unknown }
                return Truth((a == b) == wantEqual)
            }
        case (.string, .string), (.country, .country), (.country, .string), (.string, .country):
            guard !ordered else {
                return error("strings compare only with ==, !=, in, not in, like and matches", at: at)
            }
            if !checkCountryLiteral(left, right, at: at) { return nil }
            if let enumTest = enumComparison(left, right, negated: op == .notEqual, at: at) { return enumTest.map(done) ?? nil }
            guard case .string(let l)? = left.code, case .string(let r)? = right.code else { break }
            return done(Compiler.compare(op, l, r, constant: right.constant.flatMap { if case .string(let v) = $0 { v } else { nil } }))
        case (.money, let other) where other.isNumber, (let other, .money) where other.isNumber:
            return error("money compares only with money: give the number a currency (e.g. 500.00 USD) or use amount_usd", at: at)
        case (.duration, .int), (.int, .duration):
            return error("cannot compare int with duration; durations need units (10m, 24h) and seconds_since_* return seconds as int", at: at)
        default:
            break
        }
        return error("cannot compare \(left.type) with \(right.type)", at: at)
    }

    /// A string literal compared with a country must be an ISO 3166 alpha-2 code.
    private mutating func checkCountryLiteral(_ left: Compiled, _ right: Compiled, at: SourceLocation) -> Bool {
        for (side, other) in [(left, right), (right, left)] where side.type == .country {
            if case .string(let text)? = other.constant, !Compiler.isCountryCode(text) {
                sink.error("\"\(text)\" is not a country code; countries are two upper-case letters (ISO 3166-1 alpha-2) such as \"US\"", at: at)
                return false
            }
        }
        return true
    }

    static func isCountryCode(_ text: String) -> Bool {
        text.utf8.count == 2 && text.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }

    static func decimal(_ code: Code) -> ((Frame) -> Double?)? {
        switch code {
        case .int(let f): { f($0).map(Double.init) }
        case .decimal(let f): f
        default: nil
        }
    }

    static func orderingTest(_ op: BinaryOperator) -> (Int) -> Bool {
        switch op {
        case .equal: { $0 == 0 }
        case .notEqual: { $0 != 0 }
        case .less: { $0 < 0 }
        case .lessEqual: { $0 <= 0 }
        case .greater: { $0 > 0 }
        default: { $0 >= 0 }
        }
    }

    /// Orders two amounts: exactly in minor units when the currencies agree, otherwise both
    /// converted to US dollars; nil when a rate is missing (never a raw-number comparison).
    static func order(_ a: Money, _ b: Money, _ rates: ExchangeRates) -> Int? {
        if a.currency == b.currency { return a.minorUnits < b.minorUnits ? -1 : a.minorUnits == b.minorUnits ? 0 : 1 }
        guard let x = rates.usd(a), let y = rates.usd(b) else { return nil }
        return x < y ? -1 : x == y ? 0 : 1
    }

    /// A comparison closure, specialised for a constant right operand (the common `x > 5` shape).
    static func compare<T: Comparable>(_ op: BinaryOperator, _ l: @escaping (Frame) -> T?, _ r: @escaping (Frame) -> T?, constant: T?) -> (Frame) -> Truth {
        func make(_ test: @escaping (T, T) -> Bool) -> (Frame) -> Truth {
            if let c = constant {
                return { frame in
                    guard let a = l(frame) else { return .unknown }
                    return test(a, c) ? .yes : .no
                }
            }
            return { frame in
                guard let a = l(frame), let b = r(frame) else { return .unknown }
                return test(a, b) ? .yes : .no
            }
        }
        switch op {
        case .equal: return make(==)
        case .notEqual: return make(!=)
        case .less: return make(<)
        case .lessEqual: return make(<=)
        case .greater: return make(>)
        default: return make(>=)
        }
    }

    // MARK: Membership

    private mutating func membership(_ negated: Bool, _ left: Compiled, _ right: Compiled, at: SourceLocation) -> Compiled? {
        guard case .list(let element) = right.type, let list = right.list else {
            return error("'\(negated ? "not in" : "in")' needs a list on the right ([…] or @name), found \(right.type)", at: at)
        }
        let reads = left.reads
        let test: (Frame) -> Truth
        if case .strings(let set) = list, let enumTest = enumMembership(left, set, at: at) {
            guard let enumTest, let field = left.field else { return nil }
            let node = BoolNode.enumIn(field, set.sorted())
            return lowered(negated ? .not(node) : node, Compiled(type: .bool, code: .bool(negated ? { enumTest($0).negated } : enumTest), reads: reads))
        }
        var machine: BoolNode?
        if case .strings(let set) = list, let field = left.field, left.type.isText {
            machine = .textIn(field, set.sorted())
        }
        switch (left.code!, list) {
        case (.string(let f), .strings(let set)):
            if left.type == .country, let bad = set.first(where: { !Compiler.isCountryCode($0) }) {
                return error("\"\(bad)\" is not a country code; countries are two upper-case letters such as \"US\"", at: at)
            }
            if set.count <= 8 {
                // Short lists (MCCs, types, countries) compare faster than they hash.
                let values = Array(set)
                test = { frame in f(frame).map { Truth(values.contains($0)) } ?? .unknown }
            } else {
                test = { frame in f(frame).map { Truth(set.contains($0)) } ?? .unknown }
            }
        case (.int(let f), .ints(let set)):
            test = { frame in f(frame).map { Truth(set.contains($0)) } ?? .unknown }
        case (.int(let f), .decimals(let values)):
            test = { frame in f(frame).map { Truth(values.contains(Double($0))) } ?? .unknown }
        case (.decimal(let f), .ints(let set)):
            let values = set.map(Double.init)
            test = { frame in f(frame).map { Truth(values.contains($0)) } ?? .unknown }
        case (.decimal(let f), .decimals(let values)):
            test = { frame in f(frame).map { Truth(values.contains($0)) } ?? .unknown }
        case (.string, .ints), (.string, .decimals):
            return error("cannot look up a \(left.type) in a list<\(element)>; quote the list's values", at: at)
        default:
            return error("cannot look up a \(left.type) in a list<\(element)>", at: at)
        }
        if negated { return lowered(machine.map { BoolNode.not($0) }, Compiled(type: .bool, code: .bool { test($0).negated }, reads: reads)) }
        return lowered(machine, Compiled(type: .bool, code: .bool(test), reads: reads))
    }

    // MARK: Enum fields

    /// `type == "transfer"`, `channel != "pos"`: checked against the enum's cases at load and
    /// compared as enums at run time. nil when not applicable; .some(nil) after reporting an error.
    /// The field may be on either side (`"transfer" == type`).
    private mutating func enumComparison(_ left: Compiled, _ right: Compiled, negated: Bool, at: SourceLocation) -> ((Frame) -> Truth)?? {
        func operands(_ field: Compiled, _ constant: Compiled) -> (EventField, String)? {
            guard let f = field.field, f == .type || f == .channel, case .string(let text)? = constant.constant else { return nil }
            return (f, text)
        }
        guard let (field, text) = operands(left, right) ?? operands(right, left) else { return nil }
        guard let matches = enumMatcher(field, [text], at: at) else { return .some(nil) }
        return .some(negated ? { Truth(!matches($0)) } : { Truth(matches($0)) })
    }

    private mutating func enumMembership(_ left: Compiled, _ values: Set<String>, at: SourceLocation) -> ((Frame) -> Truth)?? {
        guard let field = left.field, field == .type || field == .channel else { return nil }
        guard let matches = enumMatcher(field, values.sorted(), at: at) else { return .some(nil) }
        return .some { Truth(matches($0)) }
    }

    private mutating func enumMatcher(_ field: EventField, _ values: [String], at: SourceLocation) -> ((Frame) -> Bool)? {
        if let problem = Compiler.unknownEnumValue(field, values) {
            sink.error(problem, at: at)
            return nil
        }
        if field == .type {
            let types = values.compactMap(PaymentType.init(rawValue:))
            return { types.contains($0.event.type) }
        }
        let channels = values.compactMap(Channel.init(rawValue:))
        return { channels.contains($0.event.channel) }
    }

    /// The error for a `type`/`channel` value that is not one of the enum's cases, if any.
    static func unknownEnumValue(_ field: EventField, _ values: [String]) -> String? {
        let allowed: [String]
        switch field {
        case .type: allowed = PaymentType.allCases.map(\.rawValue)
        case .channel: allowed = Channel.allCases.map(\.rawValue)
        default: return nil
        }
        guard let bad = values.first(where: { !allowed.contains($0) }) else { return nil }
        return "'\(bad)' is not a \(field.name)\(Suggestion.hint(for: bad, in: allowed)); \(field.name) is one of \(allowed.joined(separator: ", "))"
    }

    // MARK: like / matches

    private mutating func pattern(_ op: BinaryOperator, _ left: Compiled, _ right: Compiled, patternAt: SourceLocation, at: SourceLocation) -> Compiled? {
        guard left.type.isText, case .string(let f)? = left.code else {
            return error("'\(op.rawValue)' needs a string on the left, found \(left.type)", at: at)
        }
        guard right.type == .string, case .string(let pattern)? = right.constant else {
            return error("'\(op.rawValue)' needs a string literal pattern on the right, so it is compiled once at load", at: patternAt)
        }
        if op == .like {
            let matcher = LikePattern(pattern)
            return Compiled(type: .bool, code: .bool { frame in f(frame).map { Truth(matcher.matches($0)) } ?? .unknown }, reads: left.reads)
        }
        switch SafeRegex.compile(pattern) {
        case .failure(let problem):
            return error("invalid pattern for 'matches': \(problem.message)", at: patternAt)
        case .success(let regex):
            return Compiled(type: .bool, code: .bool { frame in f(frame).map { regex.matches($0) } ?? .unknown }, reads: left.reads)
        }
    }

    // MARK: Arithmetic

    private mutating func arithmetic(_ op: BinaryOperator, _ left: Compiled, _ right: Compiled, at: SourceLocation) -> Compiled? {
        let reads = Compiled.merge([left, right])
        let rates = self.rates
        switch (left.code!, right.code!) {
        case (.int(let l), .int(let r)) where op != .divide:
            let combine: (Int64, Int64) -> Int64? = switch op {
            case .add: { let (v, o) = $0.addingReportingOverflow($1); return o ? nil : v }
            case .subtract: { let (v, o) = $0.subtractingReportingOverflow($1); return o ? nil : v }
            case .multiply: { let (v, o) = $0.multipliedReportingOverflow(by: $1); return o ? nil : v }
            default: { $1 == 0 ? nil : $0.remainderReportingOverflow(dividingBy: $1).overflow ? nil : $0 % $1 }
            }
            return Compiled(type: .int, code: .int { frame in
                guard let a = l(frame), let b = r(frame) else { return nil }
                return combine(a, b)
            }, reads: reads)
        case _ where left.type.isNumber && right.type.isNumber:
            let l = Compiler.decimal(left.code!)!, r = Compiler.decimal(right.code!)!
            let combine: (Double, Double) -> Double? = switch op {
            case .add: { $0 + $1 }
            case .subtract: { $0 - $1 }
            case .multiply: { $0 * $1 }
            case .divide: { $1 == 0 ? nil : $0 / $1 }
            default: { $1 == 0 ? nil : $0.truncatingRemainder(dividingBy: $1) }
            }
            var compiled = Compiled(type: .decimal, code: .decimal { frame in
                guard let a = l(frame), let b = r(frame), let v = combine(a, b), v.isFinite else { return nil }
                return v
            }, reads: reads)
            if let machine = ArithmeticOperator(op), let ln = left.numberNode, let rn = right.numberNode {
                compiled.number = .arithmetic(machine, ln, rn)
            }
            return compiled
        case (.money(let l), .money(let r)) where op == .add || op == .subtract:
            let sign: Double = op == .add ? 1 : -1
            return Compiled(type: .money, code: .money { frame in
                guard let a = l(frame), let b = r(frame) else { return nil }
                if a.currency == b.currency {
                    let (v, o) = op == .add ? a.minorUnits.addingReportingOverflow(b.minorUnits) : a.minorUnits.subtractingReportingOverflow(b.minorUnits)
                    return o ? nil : Money(minorUnits: v, currency: a.currency)
                }
                guard let bMajor = rates.convert(Compiler.major(b), from: b.currency, to: a.currency) else { return nil }
                return Compiler.money(major: Compiler.major(a) + sign * bMajor, a.currency)
            }, reads: reads)
        case (.money(let l), .money(let r)) where op == .divide:
            return Compiled(type: .decimal, code: .decimal { frame in
                guard let a = l(frame), let b = r(frame) else { return nil }
                if a.currency == b.currency { return b.minorUnits == 0 ? nil : Double(a.minorUnits) / Double(b.minorUnits) }
                guard let x = rates.usd(a), let y = rates.usd(b), y != 0 else { return nil }
                return x / y
            }, reads: reads)
        case (.money(let l), _) where right.type.isNumber && (op == .multiply || op == .divide):
            let r = Compiler.decimal(right.code!)!
            let divide = op == .divide
            return Compiled(type: .money, code: .money { frame in
                guard let a = l(frame), let b = r(frame), !(divide && b == 0) else { return nil }
                return Compiler.money(major: divide ? Compiler.major(a) / b : Compiler.major(a) * b, a.currency)
            }, reads: reads)
        case (_, .money(let r)) where left.type.isNumber && op == .multiply:
            let l = Compiler.decimal(left.code!)!
            return Compiled(type: .money, code: .money { frame in
                guard let a = l(frame), let b = r(frame) else { return nil }
                return Compiler.money(major: a * Compiler.major(b), b.currency)
            }, reads: reads)
        case (.duration(let l), .duration(let r)) where op == .add || op == .subtract:
            return Compiled(type: .duration, code: .duration { frame in
                guard let a = l(frame), let b = r(frame) else { return nil }
                let (v, o) = op == .add ? a.addingReportingOverflow(b) : a.subtractingReportingOverflow(b)
                return o ? nil : v
            }, reads: reads)
        case (.duration(let l), .int(let r)) where op == .multiply:
            return Compiled(type: .duration, code: .duration { frame in
                guard let a = l(frame), let b = r(frame) else { return nil }
                let (v, o) = a.multipliedReportingOverflow(by: b)
                return o ? nil : v
            }, reads: reads)
        default:
            break
        }
        var hint = ""
        if (left.type == .money && right.type.isNumber) || (right.type == .money && left.type.isNumber), op == .add || op == .subtract {
            hint = "; give the number a currency, e.g. 5.00 USD"
        }
        return error("cannot apply '\(op.rawValue)' to \(left.type) and \(right.type)\(hint)", at: at)
    }

    static func major(_ money: Money) -> Double {
        Double(money.minorUnits) / pow10(money.currency.minorUnitExponent)
    }

    /// Rounds major units to the currency's minor units (half away from zero); nil if out of range.
    static func money(major: Double, _ currency: Currency) -> Money? {
        let minor = (major * pow10(currency.minorUnitExponent)).rounded()
        guard minor.isFinite, abs(minor) < 9.2e18 else { return nil }
        return Money(minorUnits: Int64(minor), currency: currency)
    }

    static func pow10(_ exponent: Int) -> Double {
        var scale = 1.0
        for _ in 0..<exponent { scale *= 10 }
        return scale
    }
}
