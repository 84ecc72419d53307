import Testing
@testable import FraudCore

@Suite("Decision wire format")
struct DecisionCodecTests {
    static let decision = Decision(
        paymentID: "p-17", outcome: .decline, modelScore: 0.0123, riskPoints: 40,
        reasons: [
            .rule(RuleReason(rule: "card_testing", action: .decline, points: 0, shadow: false,
                             values: [NamedValue(name: "count(card_fingerprint,10m)", value: .int(6))],
                             message: "6 charges on one card in 10 minutes")),
            .rule(RuleReason(rule: "big_spend", action: .review, points: 40, shadow: true,
                             values: [NamedValue(name: "amount", value: .money(Money(minorUnits: 125_000, currency: .eur))),
                                      NamedValue(name: "avg(amount_usd,account_id,30d)", value: .double(12.5)),
                                      NamedValue(name: "is_new_device", value: .bool(true)),
                                      NamedValue(name: "ip_country", value: .string("BR")),
                                      NamedValue(name: "metadata.promo", value: .missing)])),
            .model(ModelContribution(feature: "count(card_fingerprint,1h)", value: 6, contribution: 1.93)),
        ],
        rulesVersion: "sha256:ab12 v7", modelVersion: "logit-2026-11-28", featuresDegraded: false,
        eventTime: EventTime(millisecondsSinceEpoch: 1_795_940_130_123),
        decidedAt: EventTime(millisecondsSinceEpoch: 1_795_940_130_250), latencyMicros: 120
    )

    @Test("Decisions encode to the documented JSON")
    func exactBytes() {
        let text = String(decoding: DecisionEncoder().encode(Self.decision), as: UTF8.self)
        #expect(text == #"{"payment_id":"p-17","decision":"decline","model_score":0.0123,"risk_points":40,"reasons":[{"type":"rule","rule":"card_testing","action":"decline","points":0,"shadow":false,"values":{"count(card_fingerprint,10m)":6},"message":"6 charges on one card in 10 minutes"},{"type":"rule","rule":"big_spend","action":"review","points":40,"shadow":true,"values":{"amount":{"amount_minor":125000,"currency":"EUR"},"avg(amount_usd,account_id,30d)":12.5,"is_new_device":true,"ip_country":"BR","metadata.promo":null}},{"type":"model","feature":"count(card_fingerprint,1h)","value":6.0,"contribution":1.93}],"rules_version":"sha256:ab12 v7","model_version":"logit-2026-11-28","features_degraded":false,"event_time":"2026-11-29T08:15:30.123Z","decided_at":"2026-11-29T08:15:30.250Z","latency_us":120}"#)
    }

    @Test("Decisions round-trip through the decoder")
    func roundTrip() throws {
        #expect(try DecisionDecoder().decode(DecisionEncoder().encode(Self.decision)) == Self.decision)
        var other = Self.decision
        other.reasons = []
        other.outcome = .approve
        other.modelScore = 1e-05
        other.featuresDegraded = true
        #expect(try DecisionDecoder().decode(DecisionEncoder().encode(other)) == other)
    }

    @Test("Doubles are written in shortest round-trip form; NaN and infinity become null", arguments: [
        (Value.double(0.1), "0.1"), (.double(0.987654321), "0.987654321"), (.double(1.0 / 3.0), "0.3333333333333333"),
        (.double(-0.12345678901234566), "-0.12345678901234566"), (.double(1e-05), "1e-05"), (.double(6), "6.0"), (.double(-2.5e300), "-2.5e+300"),
        (.double(.nan), "null"), (.double(.infinity), "null"), (.int(-9_223_372_036_854_775_808), "-9223372036854775808"),
        (.string("a\"b"), #""a\"b""#), (.missing, "null"), (.bool(false), "false"),
    ])
    func values(value: Value, json: String) {
        var out: [UInt8] = []
        DecisionEncoder.append(value, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == json)
    }

    static let valid = String(decoding: DecisionEncoder().encode(decision), as: UTF8.self)

    @Test("Malformed decisions are rejected with the field path", arguments: [
        (valid.replacing(#""decision":"decline""#, with: #""decision":"block""#),
         #"decision for payment "p-17": field "decision": unknown value "block" (expected one of: approve, review, decline)"#),
        (valid.replacing(#""model_score":0.0123"#, with: #""model_score":1.5"#),
         #"decision for payment "p-17": field "model_score": expected a probability in 0...1, got 1.5"#),
        (valid.replacing(#","latency_us":120"#, with: ""),
         #"decision for payment "p-17": field "latency_us": required but missing (see docs/formats.md)"#),
        (valid.replacing(#""action":"review""#, with: #""action":"hold""#),
         #"decision for payment "p-17": field "reasons[1].action": unknown value "hold" (expected one of: allow, review, decline)"#),
        (valid.replacing(#""type":"model""#, with: #""type":"ml""#),
         #"decision for payment "p-17": field "reasons[2].type": unknown reason type "ml" (expected "rule" or "model")"#),
        (valid.replacing(#""currency":"EUR""#, with: #""currency":"EURO""#),
         #"decision for payment "p-17": field "reasons[1].values.amount.currency": unknown currency "EURO" (expected an active ISO 4217 code such as "USD")"#),
        (valid.replacing(#""risk_points":40"#, with: #""risk_points":40.5"#),
         #"decision for payment "p-17": field "risk_points": expected an integer, got 40.5"#),
        (valid.replacing(#""features_degraded":false"#, with: #""features_degraded":"no""#),
         #"decision for payment "p-17": field "features_degraded": expected true or false, got a string"#),
        (valid.replacing(#""latency_us":120"#, with: #""latency_us":120,"latency_us":5"#),
         #"decision for payment "p-17": field "latency_us": appears twice (each key may appear once)"#),
        (String(valid.prefix(30)),
         #"decision for payment "p-17": malformed JSON at byte 30: the text ends inside a string (missing closing '"'; truncated event?)"#),
    ])
    func rejects(input: String, message: String) throws {
        let error = try #require(throws: DecisionDecodingError.self) { try DecisionDecoder().decode(input) }
        #expect(error.description == message)
    }

    @Test("Unknown fields from newer engines are ignored")
    func ignoresUnknown() throws {
        let input = Self.valid.replacing(#""latency_us":120"#, with: #""latency_us":120,"trace":{"id":[1,2]}"#)
        #expect(try DecisionDecoder().decode(input) == Self.decision)
    }

    @Test("The decision cache's form adds event_fingerprint last, which round-trips; the topic's form never carries it")
    func fingerprintForm() throws {
        var decision = Self.decision
        decision.eventFingerprint = 0x00AB_CDEF_0123_4567
        let cached = String(decoding: DecisionEncoder(includesFingerprint: true).encode(decision), as: UTF8.self)
        #expect(cached == Self.valid.replacing(#""latency_us":120}"#, with: #""latency_us":120,"event_fingerprint":"00abcdef01234567"}"#))
        #expect(try DecisionDecoder().decode(cached).eventFingerprint == 0x00AB_CDEF_0123_4567)
        #expect(DecisionEncoder().encode(decision) == DecisionEncoder().encode(Self.decision), "the topic's bytes do not depend on the fingerprint")
        // Unknown fingerprint: nothing to write, even in the cache's form.
        #expect(DecisionEncoder(includesFingerprint: true).encode(Self.decision) == DecisionEncoder().encode(Self.decision))
        #expect(try DecisionDecoder().decode(Self.valid).eventFingerprint == nil)
        // Describes the event, not the decision: a decision read back from the topic equals the one made.
        #expect(decision == Self.decision && decision.hashValue == Self.decision.hashValue)
    }

    @Test("A malformed event_fingerprint is rejected by name", arguments: [#""abc""#, #""00abcdef0123456g""#, #""00abcdef012345678""#, #""+0abcdef01234567""#, #""00ABCDEF01234567""#, "17"])
    func rejectsFingerprint(raw: String) throws {
        let input = Self.valid.replacing(#""latency_us":120}"#, with: #""latency_us":120,"event_fingerprint":\#(raw)}"#)
        let error = try #require(throws: DecisionDecodingError.self) { try DecisionDecoder().decode(input) }
        #expect(error.field == "event_fingerprint")
    }

    @Test("wasMade(for:) compares fingerprints when the decision has one, else event times")
    func wasMade() {
        let event = EventJSON.validEvent
        var other = event
        other.amount = Money(minorUnits: 9_999, currency: .usd)
        var decision = Self.decision
        decision.eventTime = event.occurredAt
        #expect(decision.wasMade(for: event) && decision.wasMade(for: other), "without a fingerprint only the time is known")
        decision.eventFingerprint = EventFingerprint.of(event)
        #expect(decision.wasMade(for: event))
        #expect(!decision.wasMade(for: other), "same time, another amount")
    }
}
