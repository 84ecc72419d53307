import Features
import Foundation
import FraudCore
import Testing
@testable import Model

@Suite struct ExtractionTests {
    static func event(_ id: String, minor: Int64, channel: Channel, cardCountry: String, ipCountry: String) -> PaymentEvent {
        PaymentEvent(
            paymentID: id, occurredAt: EventTime(millisecondsSinceEpoch: 1_700_000_000_000), accountID: "acct-1",
            cardFingerprint: "card-1", deviceID: "dev-1", ip: "10.0.0.1", merchantID: "m-1", mcc: "5411",
            amount: Money(minorUnits: minor, currency: .usd), cardCountry: cardCountry, ipCountry: ipCountry,
            channel: channel, type: .payment
        )
    }

    @Test func expressionsRegisterAggregatesAndEvaluatePerRow() throws {
        var plan = FeaturePlan([FeatureSpec(kind: .count, key: .ip, window: .minutes(10))])
        let extractor = try ModelFeatureExtractor(
            expressions: ["log1p(amount_usd)", "count(card_fingerprint, 1h)", "card_country != ip_country", "channel == \"ecom\""],
            plan: &plan, origin: "m.json"
        )
        // The rules' feature keeps column 0; the model's aggregate is appended as column 1.
        #expect(plan.features.map(\.canonicalName) == ["count(ip,10m)", "count(card_fingerprint,1h)"])
        let events = [
            Self.event("p1", minor: 10_000, channel: .ecom, cardCountry: "US", ipCountry: "NG"),
            Self.event("p2", minor: 0, channel: .pos, cardCountry: "US", ipCountry: "US"),
        ]
        var raw: [Double] = []
        extractor.extract(events: events, features: [1, 4, 2, 9], featureCount: 2, into: &raw)
        #expect(raw == [log1p(100), 4, 1, 1, 0, 9, 0, 0])
    }

    @Test func anExpressionThatDoesNotCompileNamesItsIndex() {
        var plan = FeaturePlan()
        let error = #expect(throws: ModelFileError.self) {
            try ModelFeatureExtractor(expressions: ["log1p(amount_usd)", "cuont(card_fingerprint, 1h)"], plan: &plan, origin: "m.json")
        }
        #expect(error?.key == "features[1].expression")
        #expect(error?.description.hasPrefix("m.json: features[1].expression: does not compile: \"cuont(card_fingerprint, 1h)\" at 1:1: ") == true)
    }
}
