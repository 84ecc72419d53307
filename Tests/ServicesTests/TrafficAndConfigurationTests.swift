import Foundation
import FraudCore
import Testing
@testable import Services

@Suite("Traffic plans from recorded events")
struct TrafficPlanTests {
    static func event(_ id: String, account: String, minor: Int64, currency: Currency, at time: Int64 = 1_795_000_000_000) -> PaymentEvent {
        PaymentEvent(
            paymentID: id, occurredAt: EventTime(millisecondsSinceEpoch: time), accountID: account,
            cardFingerprint: "card", deviceID: "dev", ip: "203.0.113.7", merchantID: "m", mcc: "5411",
            amount: Money(minorUnits: minor, currency: currency), cardCountry: "US", ipCountry: "US", channel: .ecom, type: .payment)
    }

    @Test func aRedeliveredEventIsADuplicateSubmissionUnderItsPaymentID() {
        let plan = TrafficPlan(events: [
            Self.event("e1", account: "b", minor: 500, currency: .usd),
            Self.event("e2", account: "a", minor: 700, currency: .eur),
            Self.event("e1", account: "b", minor: 500, currency: .usd),
            Self.event("e3", account: "b", minor: 250, currency: .usd),
        ])
        #expect(plan.submissions.map(\.idempotencyKey) == ["e1", "e2", "e1", "e3"])
        #expect(plan.submissions.map(\.isDuplicate) == [false, false, true, false])
        // A recorded time is days old by the time it is sent: the payment service stamps its own.
        #expect(plan.submissions.allSatisfy { $0.request.occurredAt == nil })
        // Duplicates hold nothing, so they need no funds: 500 + 250 (+ 1,000 margin) for b.
        #expect(plan.funding.map { "\($0.walletID) \($0.amount.minorUnits) \($0.amount.currency.code)" } == ["a 1700 EUR", "b 1750 USD"])
    }

    @Test func keptTimesMoveTheRecordingAsOneBlockToEndAtTheGivenTime() {
        // Out of file order on purpose: the latest event (e3) is not the last line.
        let plan = TrafficPlan(events: [
            Self.event("e1", account: "b", minor: 500, currency: .usd, at: 1_000_000),
            Self.event("e3", account: "a", minor: 700, currency: .eur, at: 1_090_500),
            Self.event("e1", account: "b", minor: 500, currency: .usd, at: 1_000_000),
            Self.event("e2", account: "b", minor: 250, currency: .usd, at: 1_030_000),
        ], keepingTimes: EventTime(millisecondsSinceEpoch: 1_795_000_000_000))
        // 1,795,000,000,000 ms is 2026-11-18T11:06:40Z; the others keep their distance to e3.
        #expect(plan.submissions.map(\.request.occurredAt) == [
            "2026-11-18T11:05:09.500Z", "2026-11-18T11:06:40.000Z", "2026-11-18T11:05:09.500Z", "2026-11-18T11:05:39.500Z",
        ])
        #expect(plan.submissions.map(\.isDuplicate) == [false, false, true, false])
    }

    @Test func theGeneratedPlanRepeatsOnePaymentInAHundred() {
        let plan = TrafficPlan(payments: 1_000, accounts: 10, duplicateRate: 0.01, seed: 1)
        #expect(plan.submissions.count == 1_010)
        #expect(plan.submissions.count { $0.isDuplicate } == 10)
        #expect(Set(plan.submissions.map(\.idempotencyKey)).count == 1_000)
        #expect(plan.funding.count == 10)
        #expect(plan.submissions.allSatisfy { $0.request.occurredAt == nil })
    }
}

@Suite("Prometheus text read by the live line")
struct PrometheusTextTests {
    static let text = """
        waqiti_payment_decisions_consumed_total{status="approved"} 90
        waqiti_payment_decisions_consumed_total{status="declined"} 7
        waqiti_payment_decisions_consumed_total{status="in_review"} 3
        waqiti_payment_decision_latency_seconds_bucket{le="0.05"} 50
        waqiti_payment_decision_latency_seconds_bucket{le="0.1"} 98
        waqiti_payment_decision_latency_seconds_bucket{le="0.25"} 100
        waqiti_payment_decision_latency_seconds_bucket{le="+Inf"} 100
        """

    @Test func readsCountsByLabelAndTheP99Bucket() {
        #expect(TrafficRunner.labelledCounter(prometheus: Self.text, name: "waqiti_payment_decisions_consumed_total", label: "status")
                == ["approved": 90, "declined": 7, "in_review": 3])
        #expect(TrafficRunner.p99(prometheus: Self.text, histogram: "waqiti_payment_decision_latency_seconds")
                == HistogramPercentile(seconds: 0.25, beyondLargestBucket: false))
        #expect(TrafficRunner.p99(prometheus: "", histogram: "waqiti_payment_decision_latency_seconds") == nil)
    }

    /// A wallet crash in the platform acceptance test held some decisions past the largest bucket
    /// (10 s): the p99 was +Inf, which `waqiti traffic --json` could not encode, and it exited 1.
    @Test func aP99BeyondTheLargestBucketIsThatBoundMarkedAndEncodesAsJSON() throws {
        let slow = Self.text.replacingOccurrences(of: "{le=\"0.25\"} 100", with: "{le=\"0.25\"} 98")
        let p99 = TrafficRunner.p99(prometheus: slow, histogram: "waqiti_payment_decision_latency_seconds")
        #expect(p99 == HistogramPercentile(seconds: 0.25, beyondLargestBucket: true))
        #expect(p99?.description == "> 0.25 s")
        var summary = TrafficRunner.Summary()
        summary.decisionLatencyP99 = p99
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(summary)) as? [String: Any]
        let encoded = json?["decisionLatencyP99"] as? [String: Any]
        #expect(encoded?["seconds"] as? Double == 0.25)
        #expect(encoded?["beyondLargestBucket"] as? Bool == true)
    }
}

@Suite("Services configuration")
struct ServicesConfigurationTests {
    @Test func readsTheAuthenticationSynchronousAndFaultSettings() throws {
        let configuration = try ServicesConfiguration.load(file: nil, environment: [
            "WAQITI_HTTP_RATE_LIMIT_PER_SECOND": "50", "WAQITI_KAFKA_GROUP_ID_PREFIX": "demo-7",
            "WAQITI_PAYMENT_SYNCHRONOUS_SCORING": "true", "WAQITI_PAYMENT_SYNCHRONOUS_SCORING_TIMEOUT": "80ms",
            "WAQITI_FAULTS_CRASH_BEFORE_COMMIT_AFTER_BATCHES": "2", "WAQITI_HTTP_IDLE_TIMEOUT": "30s",
        ])
        #expect(configuration.rateLimitPerSecond == 50)
        #expect(configuration.groupIDPrefix == "demo-7")
        #expect(configuration.synchronousScoring)
        #expect(configuration.synchronousScoringTimeout == EventDuration(milliseconds: 80))
        #expect(configuration.crashBeforeCommitAfterBatches == 2)
        #expect(try ServicesConfiguration.load(file: nil, environment: [:]).crashBeforeCommitAfterBatches == nil)
        #expect(configuration.httpIdleTimeout == .seconds(30))
        #expect(try ServicesConfiguration.load(file: nil, environment: [:]).httpIdleTimeout == .seconds(75))
    }

    @Test func occurredAtBoundsDefaultToTheEnginesLatenessAndWarnWhenWider() throws {
        let defaults = try ServicesConfiguration.load(file: nil, environment: [:]).occurredAtBounds
        #expect(defaults == OccurredAtBounds(maximumSkew: .seconds(30), maximumAge: .seconds(270)))
        #expect(defaults.warning == nil)
        let demo = try ServicesConfiguration.load(file: nil, environment: ["WAQITI_PAYMENT_OCCURRED_AT_MAX_AGE": "8d"]).occurredAtBounds
        #expect(demo == OccurredAtBounds(maximumSkew: .seconds(30), maximumAge: .days(8)))
        #expect(demo.warning == "payment.occurred_at_max_skew + payment.occurred_at_max_age = 691230s exceeds the engine's default allowed lateness (5m): a client sending times out of order can push a card's later payments out of its velocity windows; keep it only for recorded traffic sent in its own order, or raise features.allowed_lateness to match")
        let skewed = try ServicesConfiguration.load(file: nil, environment: ["WAQITI_PAYMENT_OCCURRED_AT_MAX_SKEW": "1m", "WAQITI_PAYMENT_OCCURRED_AT_MAX_AGE": "4m"]).occurredAtBounds
        #expect(skewed.warning == "payment.occurred_at_max_skew (1m) is not under the engine's default features.max_clock_skew (1m): a payment accepted here may be dead-lettered there as future-dated and stay pending with its funds held")
    }

    @Test("refuses bad values with the key named", arguments: [
        ("WAQITI_HTTP_RATE_LIMIT_PER_SECOND", "0", "configuration 'http.rate_limit_per_second': '0' is not an integer in 1...10000000 (from WAQITI_HTTP_RATE_LIMIT_PER_SECOND)"),
        ("WAQITI_JWT_SECRET", "short", "configuration 'http.jwt_secret': an HS256 secret needs at least 32 bytes; e.g. `openssl rand -hex 32` (from WAQITI_JWT_SECRET)"),
        ("WAQITI_PAYMENT_SYNCHRONOUS_SCORING", "yes", "configuration 'payment.synchronous_scoring': 'yes' is not true or false (from WAQITI_PAYMENT_SYNCHRONOUS_SCORING)"),
        ("WAQITI_PAYMENT_OCCURRED_AT_MAX_AGE", "367d", "configuration 'payment.occurred_at_max_age': '367d' is more than 366d, the engine's longest window (from WAQITI_PAYMENT_OCCURRED_AT_MAX_AGE)"),
        ("WAQITI_PAYMENT_OCCURRED_AT_MAX_SKEW", "2h", "configuration 'payment.occurred_at_max_skew': '2h' is more than 1h; a payment that far ahead would be dead-lettered by the engine (from WAQITI_PAYMENT_OCCURRED_AT_MAX_SKEW)"),
        ("WAQITI_PAYMENT_OCCURRED_AT_MAX_AGE", "0s", "configuration 'payment.occurred_at_max_age': '0s' is not a duration; write e.g. 250ms, 30s, 5m (from WAQITI_PAYMENT_OCCURRED_AT_MAX_AGE)"),
    ])
    func refuses(variable: String, value: String, message: String) {
        let error = #expect(throws: ConfigurationError.self) { try ServicesConfiguration.load(file: nil, environment: [variable: value]) }
        #expect(error?.description == message)
    }
}
