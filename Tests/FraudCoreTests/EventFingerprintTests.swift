import Testing
@testable import FraudCore

@Suite("Event fingerprint")
struct EventFingerprintTests {
    private static let base = EventJSON.valid.adding("beneficiary_id", "\"ben_1\"").adding("metadata", #"{"scenario":"none","promo":"x"}"#)

    @Test("the same event written differently on the wire has one fingerprint: key order, epoch milliseconds, metadata order")
    func sameEventSameFingerprint() throws {
        let decoder = EventDecoder()
        let original = try decoder.decode(Self.base.text)
        var reordered = Self.base
        reordered.members.reverse()
        let spellings = [
            reordered,
            Self.base.replacing("occurred_at", with: "1795940130123"),
            Self.base.replacing("metadata", with: #"{"promo":"x","scenario":"none"}"#),
        ]
        for json in spellings {
            let event = try decoder.decode(json.text)
            #expect(event == original, "\(json.text)")
            #expect(EventFingerprint.of(event) == EventFingerprint.of(original), "\(json.text)")
        }
    }

    @Test("a change to any scored field changes the fingerprint, and every changed event has a fingerprint of its own")
    func everyFieldCounts() throws {
        let decoder = EventDecoder()
        let changes: [(String, String)] = [
            ("payment_id", "\"p-18\""), ("occurred_at", "\"2026-11-29T08:15:30.124Z\""), ("account_id", "\"acc_0000002\""),
            ("card_fingerprint", "\"card_00000002\""), ("device_id", "\"dev_0000002\""), ("ip", "\"10.0.0.2\""),
            ("merchant_id", "\"mer_000002\""), ("mcc", "\"5412\""), ("amount_minor", "1251"), ("currency", "\"EUR\""),
            ("card_country", "\"GB\""), ("ip_country", "\"GB\""), ("channel", "\"pos\""), ("type", "\"refund\""),
            ("beneficiary_id", "\"ben_2\""),
            ("metadata", #"{"scenario":"none","promo":"y"}"#), ("metadata", #"{"scenario":"none"}"#),
            ("metadata", #"{"scenario":"none","promo":"x","extra":""}"#),
            // A value moved from one key to another keeps the same strings, in other places.
            ("metadata", #"{"scenario":"x","promo":"none"}"#),
        ]
        var fingerprints = [EventFingerprint.of(try decoder.decode(Self.base.text))]
        for (key, raw) in changes {
            fingerprints.append(EventFingerprint.of(try decoder.decode(Self.base.replacing(key, with: raw).text)))
        }
        fingerprints.append(EventFingerprint.of(try decoder.decode(Self.base.removing("beneficiary_id").text)))
        fingerprints.append(EventFingerprint.of(try decoder.decode(Self.base.removing("metadata").text)))
        #expect(Set(fingerprints).count == changes.count + 3, "\(fingerprints)")
        // The decoder refuses an empty beneficiary_id; an event built in code may still have one.
        var empty = EventJSON.validEvent, absent = EventJSON.validEvent
        (empty.beneficiaryID, absent.beneficiaryID) = ("", nil)
        #expect(EventFingerprint.of(empty) != EventFingerprint.of(absent))
    }

    @Test("the label is ground truth, not part of the payment: relabelling keeps the fingerprint")
    func labelIgnored() throws {
        let decoder = EventDecoder()
        let unlabelled = try decoder.decode(Self.base.text)
        let fraud = try decoder.decode(Self.base.adding("label", "\"fraud\"").text)
        #expect(fraud.label == .fraud)
        #expect(EventFingerprint.of(fraud) == EventFingerprint.of(unlabelled))
    }

    @Test("the fingerprint is fixed across processes and versions: this event's value is pinned (Redis holds it)")
    func pinned() throws {
        // Computed once by this implementation. Engines compare fingerprints other instances
        // stored; a change here breaks that and must rename `event_fingerprint` (docs/formats.md).
        #expect(EventFingerprint.of(EventJSON.validEvent) == Self.pinnedValue)
    }

    static let pinnedValue: UInt64 = 0x3A4B_8875_F493_E69B
}
