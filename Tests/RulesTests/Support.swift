import Features
import FraudCore
@testable import Rules

/// A USD card payment at 2026-11-29T10:30:00Z with every field set; tests change what they need.
func sampleEvent(_ change: (inout PaymentEvent) -> Void = { _ in }) -> PaymentEvent {
    var event = PaymentEvent(
        paymentID: "p1", occurredAt: EventTime(millisecondsSinceEpoch: 1_795_948_200_000), accountID: "acct_1",
        cardFingerprint: "card_1", deviceID: "dev_1", ip: "10.0.0.1", merchantID: "m_1", mcc: "5411",
        amount: Money(minorUnits: 1250, currency: .usd), cardCountry: "US", ipCountry: "US",
        channel: .ecom, type: .payment, beneficiaryID: nil, metadata: ["scenario": "normal"]
    )
    change(&event)
    return event
}

func money(_ minor: Int64, _ code: String) -> Money { Money(minorUnits: minor, currency: Currency(code)!) }

/// Compiles rules text held in memory; `lists` maps list file paths to their contents.
func compileRules(_ text: String, lists: [String: String] = [:], basePlan: Features.FeaturePlan = Features.FeaturePlan()) throws(RulesCompileError) -> RuleSet {
    let source = RulesSource(path: "test.rules", text: text) { path in
        guard let content = lists[path] else { throw TestFileMissing(path: path) }
        return Array(content.utf8)
    }
    return try RuleSet.compile(source, basePlan: basePlan)
}

struct TestFileMissing: Error, CustomStringConvertible {
    var path: String
    var description: String { "no such file" }
}

/// The compile errors of `text`, one string per diagnostic; empty if it compiles.
func compileErrors(_ text: String, lists: [String: String] = [:]) -> [String] {
    do {
        _ = try compileRules(text, lists: lists)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}
