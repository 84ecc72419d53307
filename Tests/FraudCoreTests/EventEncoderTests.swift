import Simulation
import Testing
@testable import FraudCore

@Suite("Event encoder")
struct EventEncoderTests {
    @Test("Canonical form: fixed key order, RFC 3339 UTC time, optional fields only when present")
    func canonicalBytes() {
        var event = EventJSON.validEvent
        event.beneficiaryID = "ben_01"
        event.metadata = ["z": "last", "a": "first \"quoted\"\n"]
        event.label = .legit
        let text = String(decoding: EventEncoder().encode(event), as: UTF8.self)
        #expect(text == #"{"payment_id":"p-17","occurred_at":"2026-11-29T08:15:30.123Z","account_id":"acc_0000001","card_fingerprint":"card_00000001","device_id":"dev_0000001","ip":"10.0.0.1","merchant_id":"mer_000001","mcc":"5411","amount_minor":1250,"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment","beneficiary_id":"ben_01","metadata":{"a":"first \"quoted\"\n","z":"last"},"label":"legit"}"#)
        #expect(String(decoding: EventEncoder().encode(EventJSON.validEvent), as: UTF8.self) == EventJSON.valid.text)
    }

    @Test("Control characters are escaped so every event stays on one line")
    func escapesControlCharacters() {
        var event = EventJSON.validEvent
        event.deviceID = "a\u{01}\t\r\u{1F}\\b"
        let text = String(decoding: EventEncoder().encode(event), as: UTF8.self)
        #expect(text.contains(#""device_id":"a\u0001\t\r\u001F\\b""#))
    }

    @Test("Encoding then decoding returns the same event, for 2000 generated events")
    func roundTrip() throws {
        var random = TestRandom(seed: 42)
        var buffer = [UInt8]()
        for _ in 0..<2000 {
            let event = random.event()
            buffer.removeAll(keepingCapacity: true)
            EventEncoder().append(event, to: &buffer)
            let decoded = try EventDecoder().decode(buffer)
            #expect(decoded == event)
            // Canonical: re-encoding the decoded event gives the same bytes.
            #expect(EventEncoder().encode(decoded) == buffer)
        }
    }
}

/// Generated test data from the simulator's generator; fixed seeds keep failures reproducible.
typealias TestRandom = SimulationRandom

extension SimulationRandom {

    /// Strings mixing ASCII, characters that need escaping, and multi-byte UTF-8.
    mutating func text(maxLength: Int = 20) -> String {
        let alphabet: [Character] = ["a", "Z", "0", "_", "-", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "é", "€", "😀", "中"]
        return String((0..<(1 + below(maxLength))).map { _ in alphabet[below(alphabet.count)] })
    }

    mutating func country() -> String {
        String(decoding: [UInt8(ascii: "A") + UInt8(below(26)), UInt8(ascii: "A") + UInt8(below(26))], as: UTF8.self)
    }

    mutating func event() -> PaymentEvent {
        let currencies = [Currency.usd, .eur, Currency("JPY")!, Currency("KWD")!, Currency("BRL")!]
        var metadata: [String: String] = [:]
        for _ in 0..<below(4) { metadata[text(maxLength: 8)] = below(5) == 0 ? "" : text() }
        return PaymentEvent(
            paymentID: text(), occurredAt: EventTime(millisecondsSinceEpoch: Int64(below(4_000_000_000_000)) - 100_000_000_000),
            accountID: text(), cardFingerprint: text(), deviceID: text(), ip: text(), merchantID: text(),
            mcc: EventDraft.fourDigits(below(10_000)),
            amount: Money(minorUnits: below(3) == 0 ? Int64(next() % UInt64(Money.maximumMinorUnits + 1)) : Int64(below(100_000)), currency: currencies[below(currencies.count)]),
            cardCountry: country(), ipCountry: country(),
            channel: Channel.allCases[below(4)], type: PaymentType.allCases[below(5)],
            beneficiaryID: below(2) == 0 ? nil : text(), metadata: metadata,
            label: [nil, Label.fraud, .legit][below(3)]
        )
    }
}
