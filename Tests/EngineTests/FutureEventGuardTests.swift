import Engine
import FraudCore
import Testing

@Suite("Events dated ahead of the clock")
struct FutureEventGuardTests {
    static let now = EventTime(millisecondsSinceEpoch: 1_795_940_130_123)  // 2026-11-29T08:15:30.123Z

    static func event(_ id: String, at time: EventTime) -> PaymentEvent {
        PaymentEvent(
            paymentID: id, occurredAt: time, accountID: "acc-1", cardFingerprint: "card-1", deviceID: "dev-1", ip: "10.0.0.1",
            merchantID: "m-1", mcc: "5411", amount: Money(minorUnits: 1_000, currency: .usd), cardCountry: "US", ipCountry: "US",
            channel: .ecom, type: .payment
        )
    }

    @Test("up to the skew ahead is accepted, a millisecond more is refused with the times and the setting named; the past is the windows' business")
    func bound() {
        let guardian = FutureEventGuard(maxSkew: .minutes(1), clock: { Self.now })
        let latest = guardian.latestAccepted()
        #expect(latest == Self.now + .minutes(1))
        #expect(guardian.problem(Self.event("p1", at: Self.now + .minutes(1)), latestAccepted: latest) == nil)
        #expect(guardian.problem(Self.event("p2", at: Self.now - .days(30)), latestAccepted: latest) == nil)
        #expect(guardian.problem(Self.event("p3", at: Self.now + EventDuration(milliseconds: 60_001)), latestAccepted: latest)
            == "payment \"p3\": field \"occurred_at\": 2026-11-29T08:16:30.124Z is 61 s ahead of this instance's clock (2026-11-29T08:15:30.123Z); at most 1m is accepted (features.max_clock_skew): fix the producer's clock or the event's time")
        let far = Self.event("p4", at: RFC3339.parse("9999-12-31T23:59:59.999Z")!)
        #expect(guardian.problem(far, latestAccepted: latest)?.hasPrefix("payment \"p4\": field \"occurred_at\": 9999-12-31T23:59:59.999Z is 251606360670 s ahead") == true)
    }

    @Test("a skew of 0 accepts the clock's own millisecond and nothing after it")
    func zero() {
        let guardian = FutureEventGuard(maxSkew: EventDuration(milliseconds: 0), clock: { Self.now })
        #expect(guardian.problem(Self.event("p1", at: Self.now), latestAccepted: guardian.latestAccepted()) == nil)
        #expect(guardian.problem(Self.event("p2", at: Self.now + EventDuration(milliseconds: 1)), latestAccepted: guardian.latestAccepted())?
            .contains("is 1 s ahead") == true)
    }

    @Test("the wall clock is today's time")
    func wallClock() {
        let now = FutureEventGuard.wallClock()
        // 2026-01-01 .. 2100-01-01: a wrong unit (seconds, microseconds) would be far outside.
        #expect(now.millisecondsSinceEpoch > 1_767_225_600_000 && now.millisecondsSinceEpoch < 4_102_444_800_000)
    }
}
