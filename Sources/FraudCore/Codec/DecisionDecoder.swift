/// Why a decision message could not be decoded, naming the payment and the field.
public struct DecisionDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var paymentID: String?
    /// The offending field, with its path inside reasons (`reasons[1].action`); nil for syntax errors.
    public var field: String?
    public var reason: String

    public init(paymentID: String? = nil, field: String? = nil, reason: String) {
        self.paymentID = paymentID
        self.field = field
        self.reason = reason
    }

    public var description: String {
        var text = ""
        if let paymentID { text += "decision for payment \(quotedPreview(paymentID, limit: 64)): " }
        if let field { text += "field \"\(field)\": " }
        return text + reason
    }
}

/// Decodes decisions from their JSON wire form (docs/formats.md), as the payment, wallet and
/// reconciliation services read them from `fraud-decisions`. Unknown fields are ignored so the
/// engine can add fields without breaking consumers; everything the format defines is checked.
public struct DecisionDecoder: Sendable {
    public init() {}

    public func decode(_ bytes: UnsafeBufferPointer<UInt8>) throws(DecisionDecodingError) -> Decision {
        do throws(WireError) {
            return try decodeDecision(bytes)
        } catch {
            throw DecisionDecodingError(paymentID: EventDecoder.salvage(bytes).paymentID, field: error.field, reason: error.reason)
        }
    }

    public func decode(_ bytes: [UInt8]) throws(DecisionDecodingError) -> Decision {
        try bytes.withUnsafeBufferPointer { buffer throws(DecisionDecodingError) in try decode(buffer) }
    }

    public func decode(_ text: String) throws(DecisionDecodingError) -> Decision {
        try decode(Array(text.utf8))
    }

    private func decodeDecision(_ bytes: UnsafeBufferPointer<UInt8>) throws(WireError) -> Decision {
        var s = JSONScanner(bytes)
        var paymentID: String?, outcome: Outcome?, modelScore: Double?, riskPoints: Int64?
        var reasons: [Reason]?, rulesVersion: String?, modelVersion: String?, degraded: Bool?
        var eventTime: EventTime?, decidedAt: EventTime?, latency: Int64?, fingerprint: UInt64?
        try Self.members(of: &s, at: "") { s, key throws(WireError) in
            switch key {
            case "payment_id": paymentID = try Self.string(&s, key, allowEmpty: false)
            case "decision": outcome = try Self.choice(&s, key)
            case "model_score":
                let score = try Self.double(&s, key)
                guard (0...1).contains(score) else { throw WireError(.invalidValue, field: key, "expected a probability in 0...1, got \(score)") }
                modelScore = score
            case "risk_points": riskPoints = try Self.integer(&s, key)
            case "reasons": reasons = try decodeReasons(&s)
            case "rules_version": rulesVersion = try Self.string(&s, key, allowEmpty: true)
            case "model_version": modelVersion = try Self.string(&s, key, allowEmpty: true)
            case "features_degraded": degraded = try Self.bool(&s, key)
            case "event_time": eventTime = try Self.time(&s, key)
            case "decided_at": decidedAt = try Self.time(&s, key)
            case "latency_us":
                let value = try Self.integer(&s, key)
                guard value >= 0 else { throw WireError(.invalidValue, field: key, "expected a non-negative number of microseconds, got \(value)") }
                latency = value
            case "event_fingerprint":
                // The decision cache's form only (DecisionEncoder.includesFingerprint).
                let text = try Self.string(&s, key, allowEmpty: false)
                guard LowercaseHex.isDigits(text, count: 16), let value = UInt64(text, radix: 16) else {
                    throw WireError(.invalidValue, field: key, "expected 16 hexadecimal digits, got \(quotedPreview(text, limit: 40))")
                }
                fingerprint = value
            default: try s.skipValue()
            }
        }
        guard s.peek() == nil else { throw s.unexpected("the end of the decision after its closing '}'") }
        func required<T>(_ value: T?, _ key: String) throws(WireError) -> T {
            guard let value else { throw WireError(.missingField, field: key, "required but missing (see docs/formats.md)") }
            return value
        }
        return Decision(
            paymentID: try required(paymentID, "payment_id"), outcome: try required(outcome, "decision"),
            modelScore: try required(modelScore, "model_score"), riskPoints: Int(try required(riskPoints, "risk_points")),
            reasons: try required(reasons, "reasons"), rulesVersion: try required(rulesVersion, "rules_version"),
            modelVersion: try required(modelVersion, "model_version"), featuresDegraded: try required(degraded, "features_degraded"),
            eventTime: try required(eventTime, "event_time"), decidedAt: try required(decidedAt, "decided_at"),
            latencyMicros: try required(latency, "latency_us"), eventFingerprint: fingerprint
        )
    }

    private func decodeReasons(_ s: inout JSONScanner) throws(WireError) -> [Reason] {
        guard s.peek() == UInt8(ascii: "[") else {
            throw WireError(.wrongType, field: "reasons", "expected an array, got \(s.describeNextValue())")
        }
        s.position += 1
        var reasons: [Reason] = []
        if s.peek() == UInt8(ascii: "]") { s.position += 1; return reasons }
        repeat {
            reasons.append(try decodeReason(&s, path: "reasons[\(reasons.count)]"))
        } while try s.separatorOrClose(UInt8(ascii: "]"), "',' or ']' after a reason")
        return reasons
    }

    private func decodeReason(_ s: inout JSONScanner, path: String) throws(WireError) -> Reason {
        var type: String?, rule: String?, action: RuleAction?, points: Int64?, shadow: Bool?
        var values: [NamedValue]?, message: String?, feature: String?, value: Double?, contribution: Double?
        try Self.members(of: &s, at: path) { s, key throws(WireError) in
            let field = "\(path).\(key)"
            switch key {
            case "type": type = try Self.string(&s, field, allowEmpty: false)
            case "rule": rule = try Self.string(&s, field, allowEmpty: false)
            case "action": action = try Self.choice(&s, field)
            case "points": points = try Self.integer(&s, field)
            case "shadow": shadow = try Self.bool(&s, field)
            case "message": if !s.consumeNull() { message = try Self.string(&s, field, allowEmpty: true) }
            case "feature": feature = try Self.string(&s, field, allowEmpty: false)
            case "value": value = try Self.double(&s, field)
            case "contribution": contribution = try Self.double(&s, field)
            case "values":
                var named: [NamedValue] = []
                try Self.members(of: &s, at: field) { s, name throws(WireError) in
                    named.append(NamedValue(name: name, value: try Self.value(&s, "\(field).\(name)")))
                }
                values = named
            default: try s.skipValue()
            }
        }
        func required<T>(_ value: T?, _ key: String) throws(WireError) -> T {
            guard let value else { throw WireError(.missingField, field: "\(path).\(key)", "required but missing for a \(type ?? "") reason (see docs/formats.md)") }
            return value
        }
        switch type {
        case "rule":
            return .rule(RuleReason(
                rule: try required(rule, "rule"), action: try required(action, "action"), points: Int(try required(points, "points")),
                shadow: try required(shadow, "shadow"), values: values ?? [], message: message
            ))
        case "model":
            return .model(ModelContribution(feature: try required(feature, "feature"), value: try required(value, "value"), contribution: try required(contribution, "contribution")))
        case nil:
            throw WireError(.missingField, field: "\(path).type", "required but missing (\"rule\" or \"model\")")
        case let other?:
            throw WireError(.invalidValue, field: "\(path).type", "unknown reason type \(quotedPreview(other)) (expected \"rule\" or \"model\")")
        }
    }

    // MARK: Typed values

    /// Walks an object's members, rejecting duplicate keys; `body` must consume each value.
    static func members(of s: inout JSONScanner, at path: String, _ body: (inout JSONScanner, String) throws(WireError) -> Void) throws(WireError) {
        guard s.peek() == UInt8(ascii: "{") else {
            throw WireError(.wrongType, field: path.isEmpty ? nil : path, "expected an object, got \(s.describeNextValue())")
        }
        s.position += 1
        if s.peek() == UInt8(ascii: "}") { s.position += 1; return }
        var seen: Set<String> = []
        repeat {
            let key = try s.string(try s.scanString("an object key (a string in double quotes)"))
            guard seen.insert(key).inserted else {
                throw WireError(.duplicateField, field: path.isEmpty ? key : "\(path).\(key)", "appears twice (each key may appear once)")
            }
            try s.expect(UInt8(ascii: ":"), "':' after an object key")
            try body(&s, key)
        } while try s.separatorOrClose(UInt8(ascii: "}"), "',' or '}' after an object member")
    }

    static func string(_ s: inout JSONScanner, _ field: String, allowEmpty: Bool) throws(WireError) -> String {
        guard s.peek() == UInt8(ascii: "\"") else {
            throw WireError(.wrongType, field: field, "expected a string, got \(s.describeNextValue())")
        }
        let value = try s.string(try s.scanString())
        guard allowEmpty || !value.isEmpty else { throw WireError(.emptyValue, field: field, "must not be empty") }
        return value
    }

    static func choice<T: RawRepresentable & CaseIterable>(_ s: inout JSONScanner, _ field: String) throws(WireError) -> T where T.RawValue == String {
        let text = try string(&s, field, allowEmpty: true)
        guard let value = T(rawValue: text) else {
            throw WireError(.invalidValue, field: field, "unknown value \(quotedPreview(text)) (expected one of: \(T.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return value
    }

    static func integer(_ s: inout JSONScanner, _ field: String) throws(WireError) -> Int64 {
        let found = s.describeNextValue()
        guard found == "a number" else { throw WireError(.wrongType, field: field, "expected an integer, got \(found)") }
        let token = try s.scanNumber()
        guard token.isInteger, let value = s.int64(token) else {
            throw WireError(.wrongType, field: field, "expected an integer, got \(s.text(token.start, token.end))")
        }
        return value
    }

    static func double(_ s: inout JSONScanner, _ field: String) throws(WireError) -> Double {
        let found = s.describeNextValue()
        guard found == "a number" else { throw WireError(.wrongType, field: field, "expected a number, got \(found)") }
        let token = try s.scanNumber()
        guard let value = s.double(token), value.isFinite else {
            throw WireError(.invalidValue, field: field, "\(s.text(token.start, token.end)) is out of range for a double")
        }
        return value
    }

    static func bool(_ s: inout JSONScanner, _ field: String) throws(WireError) -> Bool {
        guard let value = s.consumeBool() else {
            throw WireError(.wrongType, field: field, "expected true or false, got \(s.describeNextValue())")
        }
        return value
    }

    static func time(_ s: inout JSONScanner, _ field: String) throws(WireError) -> EventTime {
        let text = try string(&s, field, allowEmpty: true)
        guard let time = RFC3339.parse(text) else {
            throw WireError(.invalidTime, field: field, "invalid time \(quotedPreview(text)) (expected RFC 3339 such as \"2026-11-29T08:15:30.123Z\")")
        }
        return time
    }

    /// A reason value: null, boolean, integer, double, string, or money object.
    static func value(_ s: inout JSONScanner, _ field: String) throws(WireError) -> Value {
        switch s.peek() ?? 0 {
        case UInt8(ascii: "\""): return .string(try s.string(try s.scanString()))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let token = try s.scanNumber()
            if token.isInteger, let int = s.int64(token) { return .int(int) }
            guard let double = s.double(token), double.isFinite else {
                throw WireError(.invalidValue, field: field, "\(s.text(token.start, token.end)) is out of range for a double")
            }
            return .double(double)
        case UInt8(ascii: "{"):
            var minor: Int64?, currency: Currency?
            try members(of: &s, at: field) { s, key throws(WireError) in
                switch key {
                case "amount_minor": minor = try integer(&s, "\(field).amount_minor")
                case "currency":
                    let code = try string(&s, "\(field).currency", allowEmpty: true)
                    guard let parsed = Currency(code) else {
                        throw WireError(.unknownCurrency, field: "\(field).currency", "unknown currency \(quotedPreview(code)) (expected an active ISO 4217 code such as \"USD\")")
                    }
                    currency = parsed
                default:
                    throw WireError(.invalidValue, field: field, "unexpected key \(quotedPreview(key)) in a money value (expected only \"amount_minor\" and \"currency\")")
                }
            }
            guard let minor, let currency else {
                throw WireError(.missingField, field: field, "a money value needs both \"amount_minor\" and \"currency\"")
            }
            return .money(Money(minorUnits: minor, currency: currency))
        default:
            if s.consumeNull() { return .missing }
            if let bool = s.consumeBool() { return .bool(bool) }
            throw WireError(.wrongType, field: field, "expected null, a boolean, a number, a string or a money object, got \(s.describeNextValue())")
        }
    }
}
