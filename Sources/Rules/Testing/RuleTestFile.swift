import FraudCore
import Yams

/// A rule test file (`rules/tests/*.yaml`): cases of a few events each and the decision expected
/// for the last one. See docs/rules.md, "Testing rules".
///
/// ```yaml
/// rules: ../default.rules          # optional; relative to this file
/// defaults: { account_id: acct_1 } # optional; for every event of every case
/// cases:
///   - name: five tiny charges on one card in ten minutes
///     defaults: { card_fingerprint: card_ct, amount: "1.00 USD" }
///     events:
///       - { at: "2026-01-01T00:00:00Z" }
///       - { after: 1m, repeat: 4 }
///     model_score: 0.2
///     expect: { decision: decline, reasons: [card_testing], shadow: [], risk_points: 40 }
/// ```
public struct RuleTestFile: Sendable {
    public var path: String
    public var rules: String?
    public var cases: [RuleTestCase]

    public struct FormatError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses a test file; every event is resolved against its defaults here, and every key is
    /// checked against the ones this format has, so a typo (`devcie_id`, `reasnos`) fails the load
    /// instead of silently testing something else.
    public init(path: String, text: String) throws(FormatError) {
        self.path = path
        if let problem = RuleTestFile.unknownKey(in: text) { throw FormatError(description: "\(path): \(problem)") }
        let document: Document
        do {
            document = try YAMLDecoder().decode(Document.self, from: text)
        } catch {
            throw FormatError(description: "\(path): \(RuleTestFile.describe(error))")
        }
        self.rules = document.rules
        var cases: [RuleTestCase] = []
        for (index, raw) in document.cases.enumerated() {
            let name = raw.name ?? "case \(index + 1)"
            do {
                cases.append(try RuleTestCase(raw, name: name, fileDefaults: document.defaults ?? EventFields()))
            } catch {
                throw FormatError(description: "\(path): case '\(name)': \(error.description)")
            }
        }
        guard !cases.isEmpty else { throw FormatError(description: "\(path): no cases") }
        self.cases = cases
    }

    static let fileKeys = ["rules", "defaults", "cases"]
    static let caseKeys = ["name", "defaults", "events", "model_score", "expect"]
    static let eventKeys = [
        "payment_id", "at", "after", "repeat", "account_id", "card_fingerprint", "device_id", "ip", "merchant_id", "mcc",
        "amount", "card_country", "ip_country", "channel", "type", "beneficiary_id", "metadata",
    ]
    /// `at`, `after` and `repeat` are per event: in `defaults` they would be ignored.
    static let defaultsKeys = eventKeys.filter { $0 != "at" && $0 != "after" && $0 != "repeat" }
    static let expectKeys = ["decision", "reasons", "shadow", "risk_points"]

    /// The first key the format does not have, as an error naming it and where it is (the case by
    /// name); nil when every key is known, or when the text is not a YAML mapping at all (the
    /// decoder reports that).
    static func unknownKey(in text: String) -> String? {
        guard let root = try? Yams.compose(yaml: text), let top = root.mapping else { return nil }
        func check(_ mapping: Node.Mapping, _ allowed: [String], _ place: String) -> String? {
            for (key, _) in mapping {
                let name = key.string ?? "\(key)"
                guard !allowed.contains(name) else { continue }
                if allowed == defaultsKeys, eventKeys.contains(name) {
                    return "\(place): '\(name)' is per event and has no effect in defaults; set it on the events"
                }
                return "\(place): unknown key '\(name)'\(Suggestion.hint(for: name, in: allowed)); the keys here are \(allowed.joined(separator: ", "))"
            }
            return nil
        }
        if let problem = check(top, fileKeys, "top level") { return problem }
        if let defaults = top["defaults"]?.mapping, let problem = check(defaults, defaultsKeys, "defaults") { return problem }
        for (index, node) in (top["cases"]?.sequence ?? []).enumerated() {
            guard let fields = node.mapping else { continue }
            let place = "case '\(fields["name"]?.string ?? "case \(index + 1)")'"
            if let problem = check(fields, caseKeys, place) { return problem }
            if let defaults = fields["defaults"]?.mapping, let problem = check(defaults, defaultsKeys, "\(place): defaults") { return problem }
            for (number, event) in (fields["events"]?.sequence ?? []).enumerated() {
                if let event = event.mapping, let problem = check(event, eventKeys, "\(place): event \(number + 1)") { return problem }
            }
            if let expect = fields["expect"]?.mapping, let problem = check(expect, expectKeys, "\(place): expect") { return problem }
        }
        return nil
    }

    static func describe(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop(while: { $0 == "." }).description
        }
        switch decoding {
        case .keyNotFound(let key, let context): return "missing key '\(key.stringValue)' at \(path(context).isEmpty ? "top level" : path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    struct Document: Decodable {
        var rules: String?
        var defaults: EventFields?
        var cases: [RawCase]
    }

    struct RawCase: Decodable {
        var name: String?
        var defaults: EventFields?
        var events: [EventFields]
        var model_score: Double?
        var expect: Expectation
    }
}

/// The expected outcome of a case's last event.
public struct Expectation: Decodable, Sendable, Equatable {
    public var decision: Outcome
    /// Matched non-shadow rules and thresholds, in order; unchecked when absent.
    public var reasons: [String]?
    /// Matched shadow rules, in order; unchecked when absent.
    public var shadow: [String]?
    public var risk_points: Int?
}

extension Outcome: Decodable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let outcome = Outcome(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "decision must be approve, review or decline, not '\(text)'"))
        }
        self = outcome
    }
}

/// A partial event as written in a test: every field optional.
struct EventFields: Decodable, Sendable {
    var payment_id: String?
    var at: String?
    var after: String?
    var `repeat`: Int?
    var account_id: String?
    var card_fingerprint: String?
    var device_id: String?
    var ip: String?
    var merchant_id: String?
    var mcc: String?
    var amount: String?
    var card_country: String?
    var ip_country: String?
    var channel: String?
    var type: String?
    var beneficiary_id: String?
    var metadata: [String: String]?

    init() {}

    /// Fields set here win over `base`'s (`at`/`after`/`repeat` are per event and not inherited).
    func over(_ base: EventFields) -> EventFields {
        var out = base
        out.payment_id = payment_id
        out.at = at
        out.after = after
        out.repeat = self.repeat
        out.account_id = account_id ?? base.account_id
        out.card_fingerprint = card_fingerprint ?? base.card_fingerprint
        out.device_id = device_id ?? base.device_id
        out.ip = ip ?? base.ip
        out.merchant_id = merchant_id ?? base.merchant_id
        out.mcc = mcc ?? base.mcc
        out.amount = amount ?? base.amount
        out.card_country = card_country ?? base.card_country
        out.ip_country = ip_country ?? base.ip_country
        out.channel = channel ?? base.channel
        out.type = type ?? base.type
        out.beneficiary_id = beneficiary_id ?? base.beneficiary_id
        out.metadata = (base.metadata ?? [:]).merging(metadata ?? [:]) { _, new in new }
        return out
    }
}

/// One test case with its events resolved.
public struct RuleTestCase: Sendable {
    public var name: String
    public var events: [PaymentEvent]
    public var modelScore: Double
    public var expect: Expectation

    /// Events start at 2026-01-01T00:00:00Z and follow each other by 1s unless `at`/`after` say otherwise.
    public static let defaultStart = EventTime(millisecondsSinceEpoch: 1_767_225_600_000)

    init(_ raw: RuleTestFile.RawCase, name: String, fileDefaults: EventFields) throws(RuleTestFile.FormatError) {
        self.name = name
        self.modelScore = raw.model_score ?? .nan
        self.expect = raw.expect
        let defaults = (raw.defaults ?? EventFields()).over(fileDefaults)
        var events: [PaymentEvent] = []
        var clock: EventTime?
        for (index, partial) in raw.events.enumerated() {
            let fields = partial.over(defaults)
            let copies = fields.repeat ?? 1
            guard (1...10_000).contains(copies) else { throw .init(description: "event \(index + 1): repeat must be 1...10000") }
            for copy in 0..<copies {
                let time: EventTime
                if copy == 0, let at = fields.at {
                    guard let parsed = RFC3339.parse(at) else { throw .init(description: "event \(index + 1): 'at' is not RFC 3339: \(at)") }
                    time = parsed
                } else if let previous = clock {
                    let gap = fields.after ?? "1s"
                    guard let step = EventDuration(parsing: gap) else { throw .init(description: "event \(index + 1): 'after' is not a duration such as 30s or 5m: \(gap)") }
                    time = previous + step
                } else {
                    time = RuleTestCase.defaultStart
                }
                clock = time
                let id = fields.payment_id.map { copies > 1 ? "\($0)_\(copy + 1)" : $0 } ?? "p\(events.count + 1)"
                events.append(try RuleTestCase.event(fields, id: id, time: time, number: index + 1))
            }
        }
        guard !events.isEmpty else { throw .init(description: "a case needs at least one event") }
        self.events = events
    }

    static func event(_ f: EventFields, id: String, time: EventTime, number: Int) throws(RuleTestFile.FormatError) -> PaymentEvent {
        var event = PaymentEvent.placeholder
        event.paymentID = id
        event.occurredAt = time
        event.accountID = f.account_id ?? "acct_test"
        event.cardFingerprint = f.card_fingerprint ?? "card_test"
        event.deviceID = f.device_id ?? "dev_test"
        event.ip = f.ip ?? "10.0.0.1"
        event.merchantID = f.merchant_id ?? "m_test"
        event.mcc = f.mcc ?? "5411"
        event.cardCountry = f.card_country ?? "US"
        event.ipCountry = f.ip_country ?? "US"
        event.beneficiaryID = f.beneficiary_id
        event.metadata = f.metadata ?? [:]
        let amount = f.amount ?? "10.00 USD"
        let parts = amount.split(separator: " ")
        guard parts.count == 2, let currency = Currency(parts[1]), let money = Compiler.money(String(parts[0]), currency) else {
            throw .init(description: "event \(number): amount must look like \"12.50 USD\", not \"\(amount)\"")
        }
        event.amount = money
        if let channel = f.channel {
            guard let value = Channel(rawValue: channel) else { throw .init(description: "event \(number): unknown channel '\(channel)'") }
            event.channel = value
        }
        if let type = f.type {
            guard let value = PaymentType(rawValue: type) else { throw .init(description: "event \(number): unknown type '\(type)'") }
            event.type = value
        }
        return event
    }
}
