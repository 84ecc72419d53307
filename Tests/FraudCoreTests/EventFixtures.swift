@testable import FraudCore

/// Builds event JSON texts for decoder tests: a valid event whose members can be replaced,
/// removed or extended one at a time, so each case differs from a valid event in one place.
struct EventJSON {
    var members: [(key: String, raw: String)] = [
        ("payment_id", "\"p-17\""),
        ("occurred_at", "\"2026-11-29T08:15:30.123Z\""),
        ("account_id", "\"acc_0000001\""),
        ("card_fingerprint", "\"card_00000001\""),
        ("device_id", "\"dev_0000001\""),
        ("ip", "\"10.0.0.1\""),
        ("merchant_id", "\"mer_000001\""),
        ("mcc", "\"5411\""),
        ("amount_minor", "1250"),
        ("currency", "\"USD\""),
        ("card_country", "\"US\""),
        ("ip_country", "\"US\""),
        ("channel", "\"ecom\""),
        ("type", "\"payment\""),
    ]

    func replacing(_ key: String, with raw: String) -> EventJSON {
        var copy = self
        copy.members = members.map { $0.key == key ? (key, raw) : $0 }
        return copy
    }

    func removing(_ key: String) -> EventJSON {
        var copy = self
        copy.members.removeAll { $0.key == key }
        return copy
    }

    func adding(_ key: String, _ raw: String) -> EventJSON {
        var copy = self
        copy.members.append((key, raw))
        return copy
    }

    var text: String {
        "{" + members.map { "\"\($0.key)\":\($0.raw)" }.joined(separator: ",") + "}"
    }

    static let valid = EventJSON()

    /// The event `valid` decodes to.
    static let validEvent = PaymentEvent(
        paymentID: "p-17", occurredAt: EventTime(millisecondsSinceEpoch: 1_795_940_130_123),
        accountID: "acc_0000001", cardFingerprint: "card_00000001", deviceID: "dev_0000001", ip: "10.0.0.1",
        merchantID: "mer_000001", mcc: "5411", amount: Money(minorUnits: 1250, currency: .usd),
        cardCountry: "US", ipCountry: "US", channel: .ecom, type: .payment
    )
}
