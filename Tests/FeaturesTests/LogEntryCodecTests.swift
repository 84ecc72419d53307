import FraudCore
import Testing
@testable import Features

/// The Redis log's entry text: what one event contributes to one entity, and the event the mirror
/// rebuilds from it. No services.
@Suite("Redis log entries")
struct LogEntryCodecTests {
    static let plan = FeaturePlan([
        "count(card_fingerprint, 10m)", "sum(amount_usd, card_fingerprint, 1h)",
        "distinct(beneficiary_id, card_fingerprint, 1h)", "count(card_fingerprint, 1h, where channel == \"ecom\")",
        "distinct(metadata.device_os, card_fingerprint, 1h)", "count(account_id, 1h)",
    ].map { try! FeatureSpec(parsing: $0) })

    @Test("A card entry carries time, payment id, amount, beneficiary, channel and metadata; the key is not repeated")
    func layout() {
        let codec = LogEntryCodec(key: .cardFingerprint, plan: Self.plan)
        #expect(codec.carried == [.amount, .text(.beneficiaryID), .text(.channel), .text(.metadata("device_os"))])
        var event = payment("p%1", at: 0, card: "c1", amount: 1250, currency: .eur, channel: .pos, beneficiary: "ben\u{1F}7")
        event.metadata["device_os"] = "ios"
        #expect(codec.encode(event) == "\(StreamGenerator.start)\u{1F}p%251\u{1F}=1250 EUR\u{1F}=ben%1F7\u{1F}=pos\u{1F}=ios")
        // An account entry for a plan whose account features read nothing but the key.
        #expect(LogEntryCodec(key: .accountID, plan: Self.plan).encode(event) == "\(StreamGenerator.start)\u{1F}p%251")
    }

    @Test("Decoding gives back every field the entity's features read, absent ones absent", arguments: [
        (nil as String?, nil as String?), ("ben-3", "android"), ("%\u{1F}%1F", "%25"),
    ])
    func roundTrip(beneficiary: String?, os: String?) throws {
        let codec = LogEntryCodec(key: .cardFingerprint, plan: Self.plan)
        var event = payment("pay-9", at: 42, card: "card-x", amount: -300, currency: Currency("JPY")!, channel: .wallet, beneficiary: beneficiary)
        if let os { event.metadata["device_os"] = os }
        let decoded = try #require(codec.decode(Array(codec.encode(event).utf8), keyValue: "card-x"))
        #expect(decoded.paymentID == "pay-9")
        #expect(decoded.occurredAt == event.occurredAt)
        #expect(decoded.cardFingerprint == "card-x")
        #expect(decoded.amount == event.amount)
        #expect(decoded.channel == .wallet)
        #expect(decoded.beneficiaryID == beneficiary)
        #expect(decoded.metadata["device_os"] == os)
        // Fields no feature of the card reads are neutral.
        #expect(decoded.accountID == "")
    }

    @Test("Malformed entries are refused, not guessed", arguments: [
        "", "abc\u{1F}p1\u{1F}=1 USD\u{1F}\u{1F}=ecom\u{1F}", "1\u{1F}p1\u{1F}=1 XXX\u{1F}\u{1F}=ecom\u{1F}",
        "1\u{1F}p1\u{1F}=1 USD\u{1F}\u{1F}=bus\u{1F}", "1\u{1F}p1\u{1F}1 USD\u{1F}\u{1F}=ecom\u{1F}", "1\u{1F}p1\u{1F}=1 USD",
    ])
    func malformed(_ entry: String) {
        #expect(LogEntryCodec(key: .cardFingerprint, plan: Self.plan).decode(Array(entry.utf8), keyValue: "c1") == nil)
    }

    @Test("Cursor arguments are big-endian IEEE doubles, as Lua's struct.pack('>d') writes them")
    func packedDoubles() {
        func packed(_ values: [Int64]) -> [UInt8] {
            var bytes: [UInt8] = []
            for value in values { LogCommandEncoder.appendPacked(value, to: &bytes) }
            return bytes
        }
        #expect(packed([1, 0]) == [0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(packed([1_795_940_130_000]) == [0x42, 0x7A, 0x22, 0x65, 0xF9, 0xCD, 0x00, 0x00])
        #expect(packed([-2]) == [0xC0, 0, 0, 0, 0, 0, 0, 0])
    }
}
