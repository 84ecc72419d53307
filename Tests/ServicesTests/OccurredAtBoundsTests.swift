import FraudCore
import Foundation
import Testing
@testable import Services
import LocalStackSupport

/// A clock a test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var time: EventTime

    init(_ time: EventTime) { self.time = time }

    var now: EventTime { lock.withLock { time } }

    func advance(by duration: EventDuration) { lock.withLock { time = time + duration } }
}

// Needs PostgreSQL: runs under scripts/test (WAQITI_INTEGRATION=1), skipped loudly otherwise.
@Suite("occurred_at is bounded by the payment service's clock", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct OccurredAtBoundsTests {
    /// 2026-11-29T10:00:00.000Z, the payment service's clock in these tests.
    static let now = EventTime(millisecondsSinceEpoch: 1_795_946_400_000)

    static func at(_ offset: EventDuration) -> String { RFC3339.format(now + offset) }

    @Test("a time out of bounds is refused with the bound named; nothing is stored", arguments: [
        // One payment dated 2099 made every later payment of its card "too late" for its windows.
        ("2099-01-01T00:00:00Z",
         "field 'occurred_at' '2099-01-01T00:00:00Z' is more than 30s ahead of the payment service's clock (2026-11-29T10:00:00.000Z) (payment.occurred_at_max_skew); send the time the payment happened, or omit occurred_at to use the service's clock"),
        (at(.seconds(31)),
         "field 'occurred_at' '2026-11-29T10:00:31.000Z' is more than 30s ahead of the payment service's clock (2026-11-29T10:00:00.000Z) (payment.occurred_at_max_skew); send the time the payment happened, or omit occurred_at to use the service's clock"),
        (at(.seconds(-271)),
         "field 'occurred_at' '2026-11-29T09:55:29.000Z' is more than 270s before the payment service's clock (2026-11-29T10:00:00.000Z), too late for the engine's velocity windows (payment.occurred_at_max_age); send the time the payment happened, or omit occurred_at to use the service's clock"),
        ("2026-11-29T09:00:00Z",
         "field 'occurred_at' '2026-11-29T09:00:00Z' is more than 270s before the payment service's clock (2026-11-29T10:00:00.000Z), too late for the engine's velocity windows (payment.occurred_at_max_age); send the time the payment happened, or omit occurred_at to use the service's clock"),
        // Year 0000 is outside 0001...9999, whatever the offset.
        ("0000-06-01T00:00:00Z", "field 'occurred_at' '0000-06-01T00:00:00Z' is outside the years 0001 to 9999 once its offset is applied"),
    ])
    func refused(occurredAt: String, message: String) async throws {
        let clock = ManualClock(Self.now)
        try await Platform.with(clock: { clock.now }) { platform in
            try await platform.ledger.topUp(walletID: "acc-t", amount: Money(minorUnits: 5_000, currency: .usd), reference: "t")
            let reply = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-t", amount: 1_000, occurredAt: occurredAt),
                                                         headers: ["Idempotency-Key": "t1"])
            #expect(reply.status == 400)
            #expect(reply.string("message") == message)
            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM payments.payments", as: Int64.self, in: platform.database) == 0)
            #expect(try await platform.ledger.view(walletID: "acc-t")?.balances.first?.heldMinor == 0)
        }
    }

    /// An offset that carries year 0000 out of the years RFC 3339 writes was accepted and the
    /// payment's time written back as year 9999.
    @Test func aTimeThatItsOffsetCarriesBeforeYearOneIsRefused() async throws {
        try await Platform.with(clock: { Self.now }) { platform in
            let reply = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-y", amount: 1_000, occurredAt: "0000-01-01T00:00:00+01:00"),
                                                         headers: ["Idempotency-Key": "y1"])
            #expect(reply.status == 400)
            #expect(reply.string("message")?.hasPrefix("field 'occurred_at' '0000-01-01T00:00:00+01:00' is ") == true)
        }
    }

    @Test func timesWithinTheBoundsAreKeptAndAMissingTimeIsTheServicesClock() async throws {
        let clock = ManualClock(Self.now)
        try await Platform.with(clock: { clock.now }) { platform in
            try await platform.ledger.topUp(walletID: "acc-w", amount: Money(minorUnits: 5_000, currency: .usd), reference: "t")
            for (key, occurredAt, stored) in [
                ("ahead", Self.at(.seconds(30)), "2026-11-29T10:00:30.000Z"),
                ("behind", Self.at(.seconds(-270)), "2026-11-29T09:55:30.000Z"),
                ("offset", "2026-11-29T11:59:30+02:00", "2026-11-29T09:59:30.000Z"),
                ("omitted", nil, "2026-11-29T10:00:00.000Z"),
            ] {
                let reply = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-w", amount: 100, occurredAt: occurredAt),
                                                             headers: ["Idempotency-Key": key])
                #expect(reply.status == 201, "\(key): \(String(decoding: reply.body, as: UTF8.self))")
                #expect(reply.string("occurred_at") == stored, "\(key)")
            }
            #expect(try await platform.publishedPayments().count == 4)
        }
    }

    /// A retry must find its payment, also once the time it carries has aged past the bound: the
    /// wallet was down for the first attempt, and the retry comes five minutes later.
    @Test func aRetryOfAStoredPaymentIsAnsweredAfterItsTimeAgedPastTheBound() async throws {
        let clock = ManualClock(Self.now)
        try await Platform.with(clock: { clock.now }) { platform in
            try await platform.ledger.topUp(walletID: "acc-r", amount: Money(minorUnits: 5_000, currency: .usd), reference: "t")
            let request = Platform.request(account: "acc-r", amount: 1_000, occurredAt: Self.at(.seconds(-30)))
            let first = try await platform.payments.post("/api/v1/payments", request, headers: ["Idempotency-Key": "r1"])
            #expect(first.status == 201)
            clock.advance(by: .minutes(5))
            let retry = try await platform.payments.post("/api/v1/payments", request, headers: ["Idempotency-Key": "r1"])
            #expect(retry.status == 200)
            #expect(retry.headers["idempotent-replayed"] == "true")
            #expect(retry.string("payment_id") == first.string("payment_id"))
            // The same body under a new key is a new payment, and its time is now too old.
            let fresh = try await platform.payments.post("/api/v1/payments", request, headers: ["Idempotency-Key": "r2"])
            #expect(fresh.status == 400)
            #expect(try await platform.publishedPayments().count == 1)
        }
    }

    /// `payment.occurred_at_max_age` set for recorded traffic (`waqiti traffic --keep-times`): a
    /// week-old time is kept as sent, one past the setting is still refused, naming the setting.
    @Test func aConfiguredMaximumAgeAcceptsRecordedTimesUpToIt() async throws {
        let bounds = OccurredAtBounds(maximumSkew: .seconds(30), maximumAge: .days(8))
        try await Platform.with(clock: { Self.now }, occurredAtBounds: bounds) { platform in
            try await platform.ledger.topUp(walletID: "acc-k", amount: Money(minorUnits: 5_000, currency: .usd), reference: "t")
            let week = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-k", amount: 100, occurredAt: Self.at(.days(-7))),
                                                        headers: ["Idempotency-Key": "k1"])
            #expect(week.status == 201)
            #expect(week.string("occurred_at") == "2026-11-22T10:00:00.000Z")
            let tooOld = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-k", amount: 100, occurredAt: Self.at(EventDuration(milliseconds: -691_201_000))),
                                                          headers: ["Idempotency-Key": "k2"])
            #expect(tooOld.status == 400)
            #expect(tooOld.string("message") == "field 'occurred_at' '2026-11-21T09:59:59.000Z' is more than 8d before the payment service's clock (2026-11-29T10:00:00.000Z), too late for the engine's velocity windows (payment.occurred_at_max_age); send the time the payment happened, or omit occurred_at to use the service's clock")
            #expect(try await platform.publishedPayments().count == 1)
        }
    }
}
