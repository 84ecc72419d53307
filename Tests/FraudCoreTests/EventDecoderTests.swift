import Testing
@testable import FraudCore

@Suite("Event decoder")
struct EventDecoderTests {
    static let base = EventJSON.valid

    @Test("Malformed events are rejected with a message naming the field, the payment and the fix", arguments: [
        (base.removing("currency").text,
         #"payment "p-17": field "currency": required but missing (every event carries it; see docs/formats.md)"#),
        (base.removing("payment_id").text,
         #"field "payment_id": required but missing (every event carries it; see docs/formats.md)"#),
        (base.replacing("amount_minor", with: "12.5").text,
         #"payment "p-17": field "amount_minor": expected an integer number of minor units, got 12.5 (money is never a float: send 1250 with "currency": "USD")"#),
        (base.replacing("amount_minor", with: "1.25e3").text,
         #"payment "p-17": field "amount_minor": expected an integer number of minor units, got 1.25e3 (money is never a float: send 125000 with "currency": "USD")"#),
        (base.replacing("amount_minor", with: "12.5").replacing("currency", with: #""JPY""#).text,
         #"payment "p-17": field "amount_minor": expected an integer number of minor units, got 12.5 (money is never a float: send the amount in integer minor units of its currency, e.g. 1250 for 12.50 USD)"#),
        (base.replacing("amount_minor", with: "1250.0").replacing("currency", with: #""EUR""#).text,
         #"payment "p-17": field "amount_minor": expected an integer number of minor units, got 1250.0 (money is never a float: send 125000 with "currency": "EUR")"#),
        // An exponent of Int.min: the hint's exact-amount arithmetic trapped in abs() and took the process down.
        (base.replacing("amount_minor", with: "1e-9223372036854775808").text,
         #"payment "p-17": field "amount_minor": expected an integer number of minor units, got 1e-9223372036854775808 (money is never a float: send the amount in integer minor units of its currency, e.g. 1250 for 12.50 USD)"#),
        (base.replacing("payment_id", with: #""p\u0000x""#).text,
         #"payment "p\u0000x": field "payment_id": contains the NUL character (U+0000), which no id or text may carry"#),
        (base.adding("metadata", #"{"note":"a\u0000b"}"#).text,
         #"payment "p-17": field "metadata.note": contains the NUL character (U+0000), which no id or text may carry"#),
        (base.replacing("occurred_at", with: #""0000-01-01T00:00:00+01:00""#).text,
         #"payment "p-17": field "occurred_at": invalid time "0000-01-01T00:00:00+01:00" (expected RFC 3339 with a zone, such as "2026-11-29T08:15:30.123Z", or epoch milliseconds as an integer)"#),
        (base.replacing("amount_minor", with: #""1250""#).text,
         #"payment "p-17": field "amount_minor": expected an integer number of minor units, got a string (send a JSON number such as 1250, not "1250")"#),
        (base.replacing("amount_minor", with: "-5").text,
         #"payment "p-17": field "amount_minor": expected a non-negative amount, got -5 (a refund carries a positive amount with "type": "refund")"#),
        (base.replacing("amount_minor", with: "1000000000000001").text,
         #"payment "p-17": field "amount_minor": 1000000000000001 is outside the accepted amounts, 0 to 1000000000000000 minor units (10^15)"#),
        (base.replacing("amount_minor", with: "9223372036854775808").text,
         #"payment "p-17": field "amount_minor": 9223372036854775808 is outside the accepted amounts, 0 to 1000000000000000 minor units (10^15)"#),
        (base.replacing("currency", with: #""XYZ""#).text,
         #"payment "p-17": field "currency": unknown currency "XYZ" (expected an active ISO 4217 code in uppercase, such as "USD")"#),
        (base.replacing("currency", with: #""usd""#).text,
         #"payment "p-17": field "currency": unknown currency "usd" (expected an active ISO 4217 code in uppercase, such as "USD")"#),
        (base.replacing("occurred_at", with: #""2026-13-01T00:00:00Z""#).text,
         #"payment "p-17": field "occurred_at": invalid time "2026-13-01T00:00:00Z" (expected RFC 3339 with a zone, such as "2026-11-29T08:15:30.123Z", or epoch milliseconds as an integer)"#),
        (base.replacing("occurred_at", with: #""2026-11-29T08:15:30.123""#).text,
         #"payment "p-17": field "occurred_at": invalid time "2026-11-29T08:15:30.123" (expected RFC 3339 with a zone, such as "2026-11-29T08:15:30.123Z", or epoch milliseconds as an integer)"#),
        (base.replacing("occurred_at", with: "1795940130123.5").text,
         #"payment "p-17": field "occurred_at": invalid time 1795940130123.5 (expected RFC 3339 with a zone, such as "2026-11-29T08:15:30.123Z", or epoch milliseconds as an integer)"#),
        (base.adding("payment_id", #""p-18""#).text,
         #"payment "p-17": field "payment_id": appears twice (each field may appear once per event)"#),
        (base.adding("x", "1").adding("x", "2").text,
         #"payment "p-17": field "x": appears twice (each field may appear once per event)"#),
        (String(base.text.prefix(40)),
         #"payment "p-17": malformed JSON at byte 40: the text ends inside a string (missing closing '"'; truncated event?)"#),
        (String(base.text.dropLast()),
         #"payment "p-17": malformed JSON at byte 314: the text ends where ',' or '}' after an object member was expected (truncated event? send one complete JSON object per message or line)"#),
        (base.replacing("account_id", with: #""acc\x01""#).text,
         #"payment "p-17": malformed JSON at byte 79: invalid escape '\x' in a string (JSON allows \" \\ \/ \b \f \n \r \t and \uXXXX)"#),
        (base.replacing("account_id", with: #""acc\ud800""#).text,
         #"payment "p-17": malformed JSON at byte 79: unpaired UTF-16 surrogate \uD800 (a high surrogate must be followed by a \uDC00-\uDFFF low surrogate)"#),
        (base.replacing("account_id", with: #""\udc00""#).text,
         #"payment "p-17": malformed JSON at byte 76: unpaired UTF-16 surrogate \uDC00 (a low surrogate must follow a high surrogate)"#),
        (base.replacing("account_id", with: #""acc\u12G4""#).text,
         #"payment "p-17": malformed JSON at byte 79: invalid \u escape: expected four hex digits, found 'G'"#),
        (base.replacing("account_id", with: "\"a\tb\"").text,
         #"payment "p-17": malformed JSON at byte 77: control character byte 0x9 inside a string (escape it as \n, \t or \u00XX)"#),
        (base.replacing("device_id", with: #""""#).text,
         #"payment "p-17": field "device_id": must not be empty"#),
        (base.replacing("account_id", with: "12").text,
         #"payment "p-17": field "account_id": expected a string, got a number"#),
        (base.replacing("account_id", with: "null").text,
         #"payment "p-17": field "account_id": expected a string, got null"#),
        (base.replacing("merchant_id", with: "[\"m\"]").text,
         #"payment "p-17": field "merchant_id": expected a string, got an array"#),
        (base.replacing("channel", with: #""web""#).text,
         #"payment "p-17": field "channel": unknown value "web" (expected one of: ecom, pos, p2p, wallet)"#),
        (base.replacing("type", with: #""Payment""#).text,
         #"payment "p-17": field "type": unknown value "Payment" (expected one of: payment, refund, transfer, withdrawal, topup)"#),
        (base.adding("label", #""fraudulent""#).text,
         #"payment "p-17": field "label": unknown value "fraudulent" (expected one of: fraud, legit)"#),
        (base.replacing("card_country", with: #""usa""#).text,
         #"payment "p-17": field "card_country": expected an ISO 3166-1 alpha-2 country code in uppercase, such as "US", got "usa""#),
        (base.replacing("mcc", with: #""54111""#).text,
         #"payment "p-17": field "mcc": expected a 4-digit merchant category code such as "5411", got "54111""#),
        (base.replacing("mcc", with: "10000").text,
         #"payment "p-17": field "mcc": expected a merchant category code 0...9999, got 10000"#),
        (base.adding("metadata", #"{"scenario":1}"#).text,
         #"payment "p-17": field "metadata.scenario": expected a string, got a number (metadata maps strings to strings; quote the value)"#),
        (base.adding("metadata", #"{"a":"1","a":"2"}"#).text,
         #"payment "p-17": field "metadata.a": appears twice (each metadata key may appear once)"#),
        (base.adding("metadata", #""scenario""#).text,
         #"payment "p-17": field "metadata": expected an object of string values, got a string"#),
        (base.adding("extra", "012").text,
         #"payment "p-17": malformed JSON at byte 323: numbers must not have leading zeros"#),
        (base.adding("extra", "tru").text,
         #"payment "p-17": malformed JSON at byte 323: expected a JSON value, found 't'"#),
        (base.text + " {}",
         #"payment "p-17": malformed JSON at byte 316: expected the end of the event after its closing '}' (one event per message or line), found '{'"#),
        (base.text.replacing(#""ip":"#, with: #""ip" "#),
         #"payment "p-17": malformed JSON at byte 155: expected ':' after an object key, found '"'"#),
        ("[1]",
         #"malformed JSON at byte 0: expected '{' (an event is one JSON object), found '['"#),
        ("",
         #"malformed JSON at byte 0: the text ends where '{' (an event is one JSON object) was expected (truncated event? send one complete JSON object per message or line)"#),
    ])
    func rejects(input: String, message: String) {
        #expect(throws: EventDecodingError.self) { try EventDecoder().decode(input) }
        do {
            _ = try EventDecoder().decode(input)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("Error kinds identify the failure for metrics and dead-letter reasons", arguments: [
        (base.removing("ip").text, EventDecodingError.Kind.missingField),
        (base.replacing("amount_minor", with: "12.5").text, .floatAmount),
        (base.replacing("amount_minor", with: "-1").text, .negativeAmount),
        (base.replacing("amount_minor", with: "99999999999999999999").text, .amountOverflow),
        (base.replacing("amount_minor", with: "1000000000000001").text, .amountOverflow),
        (base.replacing("currency", with: #""ABC""#).text, .unknownCurrency),
        (base.replacing("occurred_at", with: #""yesterday""#).text, .invalidTime),
        (base.adding("ip", #""1.2.3.4""#).text, .duplicateField),
        (base.replacing("ip", with: "true").text, .wrongType),
        (base.replacing("ip", with: #""""#).text, .emptyValue),
        ("{", .syntax),
    ])
    func kinds(input: String, kind: EventDecodingError.Kind) throws {
        let error = try #require(throws: EventDecodingError.self) { try EventDecoder().decode(input) }
        #expect(error.kind == kind)
    }

    @Test("Oversize values are rejected against the configured limit")
    func oversize() throws {
        let decoder = EventDecoder(limits: EventDecodingLimits(maxStringBytes: 16))
        let input = Self.base.replacing("device_id", with: #""dev_000000000000001""#).text
        let error = try #require(throws: EventDecodingError.self) { try decoder.decode(input) }
        #expect(error.description == #"payment "p-17": field "device_id": value is 19 bytes, over the limit of 16 (shorten it or raise EventDecodingLimits.maxStringBytes)"#)
        let small = EventDecoder(limits: EventDecodingLimits(maxEventBytes: 100))
        let whole = try #require(throws: EventDecodingError.self) { try small.decode(Self.base.text) }
        #expect(whole.description == #"payment "p-17": event is 315 bytes, over the limit of 100 (raise EventDecodingLimits.maxEventBytes if such events are legitimate)"#)
        let few = EventDecoder(limits: EventDecodingLimits(maxMetadataEntries: 2))
        let metadata = try #require(throws: EventDecodingError.self) {
            try few.decode(Self.base.adding("metadata", #"{"a":"1","b":"2","c":"3"}"#).text)
        }
        #expect(metadata.description == #"payment "p-17": field "metadata": more than 2 entries (send fewer or raise EventDecodingLimits.maxMetadataEntries)"#)
    }

    @Test("Invalid UTF-8 inside a string is rejected, not repaired")
    func invalidUTF8() throws {
        var bytes = Array(Self.base.replacing("account_id", with: #""acc_X""#).text.utf8)
        let x = bytes.firstIndex(of: UInt8(ascii: "X"))!
        bytes[x] = 0xFF
        let error = try #require(throws: EventDecodingError.self) { try EventDecoder().decode(bytes) }
        #expect(error.description == #"payment "p-17": field "account_id": is not valid UTF-8 (send text as UTF-8)"#)
    }

    @Test("The reference event decodes to the expected value")
    func decodesValid() throws {
        #expect(try EventDecoder().decode(Self.base.text) == EventJSON.validEvent)
    }

    @Test("Valid variants decode to the expected event", arguments: [
        (base.replacing("occurred_at", with: "1795940130123").text, expected { _ in }),
        (base.replacing("occurred_at", with: #""2026-11-29T09:15:30.123+01:00""#).text, expected { _ in }),
        (base.replacing("occurred_at", with: #""1795940130123""#).text, expected { _ in }),
        (base.replacing("mcc", with: "742").text, expected { e in e.mcc = "0742" }),
        (base.replacing("mcc", with: "0").text, expected { e in e.mcc = "0000" }),
        (base.adding("beneficiary_id", "null").text, expected { _ in }),
        (base.adding("beneficiary_id", #""ben_01""#).text, expected { e in e.beneficiaryID = "ben_01" }),
        (base.adding("label", #""fraud""#).text, expected { e in e.label = .fraud }),
        (base.adding("label", "null").text, expected { _ in }),
        (base.adding("metadata", "null").text, expected { _ in }),
        (base.adding("metadata", "{}").text, expected { _ in }),
        (base.adding("metadata", #"{"scenario":"card_testing","note":"","emoji":"\ud83d\ude00 caf\u00e9"}"#).text,
         expected { e in e.metadata = ["scenario": "card_testing", "note": "", "emoji": "😀 café"] }),
        (base.replacing("payment_id", with: #""p\u002d17""#).text, expected { _ in }),
        (base.replacing("account_id", with: #""acc \"q\" \\ \/ \n""#).text, expected { e in e.accountID = "acc \"q\" \\ / \n" }),
        (base.replacing("merchant_id", with: #""Café Zürich""#).text, expected { e in e.merchantID = "Café Zürich" }),
        (base.adding("unknown", #"{"a":[1,-2.5e-3,{"b":"}\"]\\"},true,false,null],"c":{}}"#).adding("u2", "[]").text,
         expected { _ in }),
        (base.adding("amount", "12.5").text, expected { _ in }),
        ("  \t" + base.text.replacing(",\"", with: " ,\n \"").replacing("\":", with: "\" : ") + " \r\n",
         expected { _ in }),
        (base.replacing("amount_minor", with: "0").text, expected { e in e.amount.minorUnits = 0 }),
        (base.replacing("amount_minor", with: "1000000000000000").replacing("currency", with: #""JPY""#).text,
         expected { e in e.amount = Money(minorUnits: Money.maximumMinorUnits, currency: Currency("JPY")!) }),
    ])
    func decodesVariants(input: String, expected: PaymentEvent) throws {
        #expect(try EventDecoder().decode(input) == expected)
    }

    /// The reference event with some fields changed.
    static func expected(_ adjust: (inout PaymentEvent) -> Void) -> PaymentEvent {
        var event = EventJSON.validEvent
        adjust(&event)
        return event
    }

    @Test("Every channel, type and label value decodes")
    func everyEnumValue() throws {
        for channel in Channel.allCases {
            #expect(try EventDecoder().decode(Self.base.replacing("channel", with: "\"\(channel.rawValue)\"").text).channel == channel)
        }
        for type in PaymentType.allCases {
            #expect(try EventDecoder().decode(Self.base.replacing("type", with: "\"\(type.rawValue)\"").text).type == type)
        }
        for label in Label.allCases {
            #expect(try EventDecoder().decode(Self.base.adding("label", "\"\(label.rawValue)\"").text).label == label)
        }
    }

    @Test("Fields may come in any order")
    func anyOrder() throws {
        var json = Self.base
        json.members.reverse()
        #expect(try EventDecoder().decode(json.text) == EventJSON.validEvent)
    }
}
