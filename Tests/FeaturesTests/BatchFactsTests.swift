import FraudCore
import Testing
@testable import Features

@Suite("Batch facts: what the stores extract from each event")
struct BatchFactsTests {
    /// Groups: ip, account_id, beneficiary_id; distinct string slots: ip, beneficiary_id.
    static let plan = FeaturePlan([
        "count(ip, 1h)", "distinct(ip, account_id, 1h)", "count(beneficiary_id, 1h)", "distinct(beneficiary_id, account_id, 1h)",
    ].map { try! FeatureSpec(parsing: $0) })

    @Test("A key field that a distinct feature also counts is hashed once: same key text, same hash, missing stays missing")
    func keySharedWithDistinctValue() {
        let compiled = CompiledPlan(plan: Self.plan, lateness: .minutes(5))
        #expect(compiled.groups.map(\.key) == [.ip, .accountID, .beneficiaryID])
        #expect(compiled.stringFields == [.ip, .beneficiaryID])
        #expect(compiled.keyStringSlots == [0, nil, 1])

        let events = [
            payment("p1", at: 0, account: "acct-1", ip: "10.0.0.1", beneficiary: "ben-1"),
            payment("p2", at: 1, account: "acct-2", ip: "10.0.0.2", beneficiary: nil),
        ]
        let facts = compiled.facts(of: events, rates: .builtIn, hashing: true)
        #expect(facts.keys == ["10.0.0.1", "acct-1", "ben-1", "10.0.0.2", "acct-2", nil])
        #expect(facts.keyHashes == [
            seededHash("10.0.0.1"), seededHash("acct-1"), seededHash("ben-1"), seededHash("10.0.0.2"), seededHash("acct-2"), 0,
        ])
        #expect(facts.stringHashes == [seededHash("10.0.0.1"), seededHash("ben-1"), seededHash("10.0.0.2"), 0])

        // Without hashing (the Redis store) the keys are the same and no hash is computed.
        let unhashed = compiled.facts(of: events, rates: .builtIn)
        #expect(unhashed.keys == facts.keys)
        #expect(unhashed.keyHashes == [0, 0, 0, 0, 0, 0])
    }

    @Test("Fields read through the event pointer give the text FraudCore's string(of:) gives", arguments: [
        EventField.paymentID, .accountID, .cardFingerprint, .deviceID, .ip, .merchantID, .mcc, .beneficiaryID, .cardCountry,
        .ipCountry, .channel, .type, .currency, .amountMinor, .metadata("segment"), .metadata("absent"),
    ])
    func windowStringMatchesFraudCore(field: EventField) {
        var event = payment("p1", at: 0, account: "acct-1", amount: 1234, currency: .eur, channel: .pos, type: .transfer, ip: "10.0.0.1", beneficiary: "ben-1")
        event.metadata = ["segment": "retail"]
        let text = withUnsafePointer(to: event) { field.windowString(of: $0, rates: .builtIn) }
        #expect(text == field.string(of: event))
    }

    @Test("amount_usd reads as its whole micro-dollars, the same text for keys and filters as for the integer column")
    func amountUSD() throws {
        let event = payment("p1", at: 0, amount: 1234, currency: .usd)
        let (integer, text) = withUnsafePointer(to: event) {
            (EventField.amountUSD.windowInteger(of: $0, rates: .builtIn), EventField.amountUSD.windowString(of: $0, rates: .builtIn))
        }
        #expect(integer == 12_340_000)
        #expect(text == "12.34")
    }
}
