import FraudCore
import Features

/// Type-checks expressions and compiles them to closures in one pass.
///
/// Names resolve to event fields, `let` bindings, lists and the engine-supplied values
/// (`model_score`, `risk_points` in thresholds). Every aggregate becomes a `FeatureSpec` registered
/// in `plan`, so an aggregate written in five places is one feature column. A node whose operands
/// are constants is evaluated here once (constant folding). Errors go to the sink and the node
/// compiles to nil; the caller keeps checking the rest of the file.
struct Compiler {
    var sink: DiagnosticSink
    var plan: FeaturePlan
    let rates: ExchangeRates
    /// Compiled `let`s by name, each with its cache slot and its depth counting the `let`s it uses
    /// (`depthWithLets`).
    var bindings: [String: (compiled: Compiled, slot: Int, depth: Int)] = [:]
    /// `let`s whose declaration failed (the error is reported there): their uses compile to nil
    /// without another error each.
    var failedBindings: Set<String> = []
    var lists: [String: Compiled] = [:]
    /// `risk_points` is only defined once the rules have run: in thresholds.
    var allowsRiskPoints = false
    var letCount = 0

    init(file: String, plan: FeaturePlan, rates: ExchangeRates) {
        self.sink = DiagnosticSink(file: file)
        self.plan = plan
        self.rates = rates
    }

    static let engineValues = ["amount", "model_score", "risk_points"]

    var knownNames: [String] { Array(EventField.named.keys) + Compiler.engineValues + Array(bindings.keys) + Compiler.functionNames }

    mutating func error(_ message: String, at location: SourceLocation) -> Compiled? {
        sink.error(message, at: location)
        return nil
    }

    mutating func compile(_ node: Expression.Node) -> Compiled? {
        let at = node.location
        switch node.expression {
        case .integer(let value):
            return literal(.int(value), .int)
        case .decimal(let text):
            return literal(.decimal(Double(text) ?? .nan), .decimal)
        case .string(let text):
            return literal(.string(text), .string)
        case .boolean(let value):
            return literal(.bool(value), .bool)
        case .duration(let duration):
            return literal(.duration(duration.milliseconds), .duration)
        case .money(let text, let currency):
            guard let money = Compiler.money(text, currency) else {
                let places = currency.minorUnitExponent
                if Compiler.hasTooManyPlaces(text, currency) {
                    return error("\(currency) has \(places) decimal place\(places == 1 ? "" : "s"); '\(text) \(currency)' has more", at: at)
                }
                return error("'\(text) \(currency)' is out of range; amounts are at most \(Int64.max) minor units", at: at)
            }
            return literal(.money(money), .money)
        case .list(let elements):
            return compileList(elements, at: at)
        case .listReference(let name):
            guard let list = lists[name] else {
                return error("unknown list '@\(name)'\(Suggestion.hint(for: name, in: lists.keys, prefix: "@"))", at: at)
            }
            return list
        case .name(let name):
            return compileName(name, at: at)
        case .call(let name, let arguments, let filter):
            return compileCall(name, arguments, filter: filter, at: at)
        case .not(let operand):
            guard let inner = compile(operand) else { return nil }
            guard inner.type == .bool, case .bool(let f)? = inner.code else {
                return error("'not' needs a bool, found \(inner.type)", at: at)
            }
            var negated = Compiled(type: .bool, code: .bool { f($0).negated }, reads: inner.reads)
            negated.bool = .not(inner.boolNode)
            return fold(negated, [inner])
        case .negate(let operand):
            return compileNegate(operand, at: at)
        case .binary(let op, let lhs, let rhs):
            return compileBinary(op, lhs, rhs, at: at)
        }
    }

    func literal(_ value: RuntimeValue, _ type: ValueType) -> Compiled {
        var compiled = Compiled(type: type, code: .constant(value, as: type), constant: value)
        compiled.lowerConstant(value)
        return compiled
    }

    /// Whether `text` has more (non-zero) decimal places than `currency` allows.
    static func hasTooManyPlaces(_ text: String, _ currency: Currency) -> Bool {
        let fraction = text.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first ?? ""
        return fraction.reversed().drop(while: { $0 == "0" }).count > currency.minorUnitExponent
    }

    /// Exact decimal text to minor units: `5.00 USD` → 500; nil if it has more places than the
    /// currency or does not fit in Int64 minor units.
    static func money(_ text: String, _ currency: Currency) -> Money? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let places = currency.minorUnitExponent
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        let trimmed = String(fraction.reversed().drop(while: { $0 == "0" }).reversed())
        guard trimmed.count <= places else { return nil }
        let padded = fraction.count >= places ? String(fraction.prefix(places)) : fraction + String(repeating: "0", count: places - fraction.count)
        guard let minor = Int64(String(parts[0]) + padded) else { return nil }
        return Money(minorUnits: minor, currency: currency)
    }

    /// Replaces a node whose operands are all constants by its value.
    mutating func fold(_ compiled: Compiled, _ operands: [Compiled]) -> Compiled {
        guard !operands.isEmpty, operands.allSatisfy({ $0.constant != nil || $0.list != nil }), let code = compiled.code else { return compiled }
        let value = code.value(Frame.placeholder(lets: letCount))
        var folded = Compiled(type: compiled.type, code: .constant(value, as: compiled.type), constant: value)
        folded.lowerConstant(value)
        return folded
    }

    // MARK: Names

    mutating func compileName(_ name: String, at: SourceLocation) -> Compiled? {
        if let binding = bindings[name] { return letReference(name, binding.compiled, slot: binding.slot) }
        if failedBindings.contains(name) { return nil }
        switch name {
        case "amount":
            let code = Code.money { $0.event.amount }
            var compiled = Compiled(type: .money, code: code, reads: [Read(name: name, code: code)])
            compiled.isEventAmount = true
            return compiled
        case "model_score":
            let code = Code.decimal { $0.modelScore.isNaN ? nil : $0.modelScore }
            var compiled = Compiled(type: .decimal, code: code, reads: [Read(name: name, code: code)])
            compiled.number = .modelScore
            return compiled
        case "risk_points":
            guard allowsRiskPoints else {
                return error("'risk_points' is the total of the matched rules' points and can only be used in a threshold", at: at)
            }
            let code = Code.int { $0.riskPoints }
            var compiled = Compiled(type: .int, code: code, reads: [Read(name: name, code: code)])
            compiled.number = .riskPoints
            return compiled
        default:
            break
        }
        guard let field = EventField(name: name) else {
            if lists[name] != nil { return error("'\(name)' is a list; write '@\(name)'", at: at) }
            if name == "metadata" || name.hasPrefix("metadata.") || name.contains(".") {
                return error("unknown field '\(name)'; metadata fields are written metadata.KEY", at: at)
            }
            if Compiler.functionNames.contains(name) { return error("'\(name)' is a function; call it as \(name)(…)", at: at) }
            return error("unknown field '\(name)'\(Suggestion.hint(for: name, in: knownNames))", at: at)
        }
        var compiled = fieldValue(field)
        compiled.reads = [Read(name: name, code: compiled.code!)]
        compiled.field = field
        return compiled
    }

    func fieldValue(_ field: EventField) -> Compiled {
        switch field {
        case .amountMinor:
            return Compiled(type: .int, code: .int { $0.event.amount.minorUnits })
        case .amountUSD:
            var compiled = Compiled(type: .decimal, code: .decimal { $0.amountUSD })
            compiled.number = .amountUSD
            return compiled
        case .cardCountry:
            return Compiled(type: .country, code: .string { $0.event.cardCountry.nonEmpty })
        case .ipCountry:
            return Compiled(type: .country, code: .string { $0.event.ipCountry.nonEmpty })
        case .accountID: return Compiled(type: .string, code: .string { $0.event.accountID.nonEmpty })
        case .cardFingerprint: return Compiled(type: .string, code: .string { $0.event.cardFingerprint.nonEmpty })
        case .deviceID: return Compiled(type: .string, code: .string { $0.event.deviceID.nonEmpty })
        case .ip: return Compiled(type: .string, code: .string { $0.event.ip.nonEmpty })
        case .merchantID: return Compiled(type: .string, code: .string { $0.event.merchantID.nonEmpty })
        case .mcc: return Compiled(type: .string, code: .string { $0.event.mcc.nonEmpty })
        case .metadata(let key): return Compiled(type: .string, code: .string { $0.event.metadata[key]?.nonEmpty })
        case .paymentID: return Compiled(type: .string, code: .string { $0.event.paymentID.nonEmpty })
        case .beneficiaryID: return Compiled(type: .string, code: .string { $0.event.beneficiaryID?.nonEmpty })
        case .channel: return Compiled(type: .string, code: .string { $0.event.channel.rawValue })
        case .type: return Compiled(type: .string, code: .string { $0.event.type.rawValue })
        case .currency: return Compiled(type: .string, code: .string { $0.event.amount.currency.code })
        }
    }

    /// A `let` read: computed at most once per event, then served from the frame's slot.
    func letReference(_ name: String, _ body: Compiled, slot: Int) -> Compiled {
        if body.constant != nil { return body }
        let code: Code
        switch body.code! {
        case .bool(let f):
            code = .bool { frame in
                if frame.letStamps[slot] == frame.stamp {
                    if case .bool(let b) = frame.letValues[slot] { return Truth(b) }
                    return .unknown
                }
                let t = f(frame)
                frame.letValues[slot] = t == .unknown ? .missing : .bool(t == .yes)
                frame.letStamps[slot] = frame.stamp
                return t
            }
        case .int(let f): code = .int { Compiler.cached($0, slot, f, wrap: RuntimeValue.int) { if case .int(let v) = $0 { v } else { nil } } }
        case .decimal(let f): code = .decimal { Compiler.cached($0, slot, f, wrap: RuntimeValue.decimal) { if case .decimal(let v) = $0 { v } else { nil } } }
        case .string(let f): code = .string { Compiler.cached($0, slot, f, wrap: RuntimeValue.string) { if case .string(let v) = $0 { v } else { nil } } }
        case .money(let f): code = .money { Compiler.cached($0, slot, f, wrap: RuntimeValue.money) { if case .money(let v) = $0 { v } else { nil } } }
        case .duration(let f): code = .duration { Compiler.cached($0, slot, f, wrap: RuntimeValue.duration) { if case .duration(let v) = $0 { v } else { nil } } }
        }
        var compiled = Compiled(type: body.type, code: code, reads: [Read(name: name, code: code, letReads: body.reads)])
        if body.type == .bool {
            compiled.bool = .boolLet(slot: slot, body.boolNode)
        } else if let number = body.number {
            compiled.number = number.isLeaf ? number : .numberLet(slot: slot, number)
        } else if body.type == .decimal, let number = body.numberNode {
            compiled.number = .numberLet(slot: slot, number)
        }
        return compiled
    }

    /// How deep an expression is once every `let` it names counts as its body: a `let` is
    /// compiled into (and evaluated inside) the trees of the expressions that use it, so a chain of
    /// `let`s nests as deep as its parts together.
    static let maxDepthWithLets = 400

    /// The height of `node` with each `let` it names counted as one level above that `let`'s own
    /// depth with lets. Recurses over the syntax only, which the parser keeps within `Parser.maxDepth`.
    func depthWithLets(_ node: Expression.Node) -> Int {
        if case .name(let name) = node.expression, let binding = bindings[name] { return 1 + binding.depth }
        var deepest = 0
        for child in node.expression.children { deepest = Swift.max(deepest, depthWithLets(child)) }
        return 1 + deepest
    }

    /// Refuses `node` when it is deeper than `maxDepthWithLets` counting its `let`s; `what` names
    /// the let, rule, threshold or reason in the error.
    mutating func checkDepthWithLets(_ node: Expression.Node, of what: String, at location: SourceLocation) -> Int? {
        let depth = depthWithLets(node)
        guard depth <= Compiler.maxDepthWithLets else {
            sink.error("\(what) is nested \(depth) levels deep counting the lets it uses; the limit is \(Compiler.maxDepthWithLets): compute it in fewer steps, or use a list", at: location)
            return nil
        }
        return depth
    }

    @inline(__always)
    static func cached<T>(_ frame: Frame, _ slot: Int, _ compute: (Frame) -> T?, wrap: (T) -> RuntimeValue, unwrap: (RuntimeValue) -> T?) -> T? {
        if frame.letStamps[slot] == frame.stamp { return unwrap(frame.letValues[slot]) }
        let value = compute(frame)
        frame.letValues[slot] = value.map(wrap) ?? .missing
        frame.letStamps[slot] = frame.stamp
        return value
    }

    // MARK: Lists

    mutating func compileList(_ elements: [Expression.Node], at: SourceLocation) -> Compiled? {
        var values: [(RuntimeValue, ValueType, SourceLocation)] = []
        for element in elements {
            guard let compiled = compile(element) else { return nil }
            guard let value = compiled.constant, compiled.list == nil else {
                return error("list elements must be literals (strings or numbers)", at: element.location)
            }
            values.append((value, compiled.type, element.location))
        }
        guard let first = values.first else { return Compiled(list: .strings([]), element: .string) }
        switch first.1 {
        case .string:
            var set: Set<String> = []
            for (value, type, location) in values {
                guard case .string(let s) = value else { return error("list mixes string and \(type) elements", at: location) }
                set.insert(s)
            }
            return Compiled(list: .strings(set), element: .string)
        case .int, .decimal:
            var doubles: [Double] = []
            var ints: Set<Int64> = []
            var allInts = true
            for (value, type, location) in values {
                switch value {
                case .int(let i): ints.insert(i); doubles.append(Double(i))
                case .decimal(let d): allInts = false; doubles.append(d)
                default: return error("list mixes number and \(type) elements", at: location)
                }
            }
            return allInts ? Compiled(list: .ints(ints), element: .int) : Compiled(list: .decimals(doubles), element: .decimal)
        default:
            return error("lists hold strings or numbers, not \(first.1)", at: first.2)
        }
    }

    /// Reads a list file: one value per line; blank lines and `#` comments are skipped.
    static func parseListFile(_ text: String) -> Set<String> {
        var values: Set<String> = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let value = String(content).trimmingWhitespace
            if !value.isEmpty { values.insert(value) }
        }
        return values
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }

    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
