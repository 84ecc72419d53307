import FraudCore
import Testing
@testable import Replay

@Suite("Replay summary")
struct SummaryTests {
    /// Six events over three minutes: two fraud scenarios, three legit, one unlabeled.
    /// - Parameter p2Declined: p2 (fraud, card_testing, 700 USD) declined by card_velocity
    ///   instead of approved (`ComparisonTextTests`' candidate).
    static func sample(p2Declined: Bool = false) -> ReplaySummaryBuilder {
        var builder = ReplaySummaryBuilder(rules: [
            RuleDescriptor(name: "card_velocity", action: .decline, shadow: false),
            RuleDescriptor(name: "never_fires", action: .review, shadow: false),
        ])
        let pairs: [(PaymentEvent, Outcome, [String], [String])] = [
            (Fixtures.event("p1", minute: 0, label: .fraud, scenario: "card_testing", amount: 500), .decline, ["card_velocity"], []),
            (Fixtures.event("p2", minute: 0, label: .fraud, scenario: "card_testing", amount: 700), p2Declined ? .decline : .approve, p2Declined ? ["card_velocity"] : [], ["new_idea"]),
            (Fixtures.event("p3", minute: 1, label: .fraud, scenario: "account_takeover", amount: 9_000, currency: Currency("EUR")!), .review, ["card_velocity"], []),
            (Fixtures.event("p4", minute: 1, label: .legit, amount: 100), .decline, ["card_velocity"], ["new_idea"]),
            (Fixtures.event("p5", minute: 2, label: .legit, amount: 100), .approve, [], []),
            (Fixtures.event("p6", minute: 2, amount: 100), .approve, [], []),
        ]
        for (event, outcome, rules, shadow) in pairs {
            builder.add(event, Fixtures.decision(event, outcome, rules: rules, shadow: shadow))
        }
        builder.addRejected(2)
        return builder
    }

    @Test("counts, rule hits in file order then first-seen, amounts per currency, scenarios")
    func exactSummary() {
        let summary = Self.sample().summary()
        #expect(summary.events == 6)
        #expect(summary.rejected == 2)
        #expect(summary.outcomes == OutcomeCounts(approve: 3, review: 1, decline: 2))
        #expect(summary.firstEventTime == "2026-01-01T00:00:00.000Z")
        #expect(summary.lastEventTime == "2026-01-01T00:02:00.000Z")
        #expect(summary.rules == [
            RuleHits(rule: "card_velocity", action: .decline, shadow: false, hits: 3, fraudHits: 2, legitHits: 1),
            RuleHits(rule: "never_fires", action: .review, shadow: false, hits: 0, fraudHits: 0, legitHits: 0),
            RuleHits(rule: "new_idea", action: .review, shadow: true, hits: 2, fraudHits: 1, legitHits: 1),
        ])
        #expect(summary.rules[0].precision == 2.0 / 3.0)
        #expect(summary.rules[1].precision == nil)
        let labels = try! #require(summary.labels)
        #expect(labels.fraud == 3 && labels.legit == 2 && labels.unlabeled == 1)
        #expect(labels.decline == FlagMetrics(truePositives: 1, falsePositives: 1, falseNegatives: 2, trueNegatives: 1))
        #expect(labels.declineOrReview == FlagMetrics(truePositives: 2, falsePositives: 1, falseNegatives: 1, trueNegatives: 1))
        #expect(labels.fraudAmounts == [
            CurrencyAmounts(currency: "EUR", fraudMinor: 9_000, declinedMinor: 0, reviewedMinor: 9_000),
            CurrencyAmounts(currency: "USD", fraudMinor: 1_200, declinedMinor: 500, reviewedMinor: 0),
        ])
        #expect(labels.scenarios == [
            ScenarioRecall(scenario: "account_takeover", outcomes: OutcomeCounts(review: 1)),
            ScenarioRecall(scenario: "card_testing", outcomes: OutcomeCounts(approve: 1, decline: 1)),
        ])
        #expect(labels.scenarios[1].recall == 0.5)
        #expect(summary.model?.scoredEvents == 5)
        #expect(summary.rulesVersions == ["rules-1"])
        #expect(summary.timeline.map(\.outcomes) == [
            OutcomeCounts(approve: 1, decline: 1), OutcomeCounts(review: 1, decline: 1), OutcomeCounts(approve: 2),
        ])
        #expect(summary.timeline.map(\.fraud) == [2, 1, 0])
    }

    @Test("a redelivered fraud payment counts once in every label metric and in redelivered; the text and JSON say so")
    func redeliveriesCountedOnce() throws {
        var builder = Self.sample()
        // p1 (fraud, card_testing, 500 USD, declined by card_velocity) twice more, p4 (legit) once
        // more, each answered with its first decision as the engine's cache answers it.
        let p1 = Fixtures.event("p1", minute: 0, label: .fraud, scenario: "card_testing", amount: 500)
        let p1Late = Fixtures.event("p1", minute: 3, label: .fraud, scenario: "card_testing", amount: 500)
        let p4 = Fixtures.event("p4", minute: 1, label: .legit, amount: 100)
        builder.add(p1, Fixtures.decision(p1, .decline, rules: ["card_velocity"]), redelivery: true)
        builder.add(p4, Fixtures.decision(p4, .decline, rules: ["card_velocity"], shadow: ["new_idea"]), redelivery: true)
        builder.add(p1Late, Fixtures.decision(p1, .decline, rules: ["card_velocity"]), redelivery: true)
        let summary = builder.summary()
        let once = Self.sample().summary()
        #expect(summary.events == 9)
        #expect(summary.redelivered == 3)
        #expect(summary.reusedPaymentIDs == 1, "p1 three minutes later is another payment under p1's id")
        #expect(summary.payments == 6)
        #expect(summary.outcomes == OutcomeCounts(approve: 3, review: 1, decline: 2))
        #expect(summary.rules == once.rules)
        #expect(summary.rules[0].hits == 3 && summary.rules[0].fraudHits == 2)
        let labels = try #require(summary.labels)
        #expect(labels.fraud == 3 && labels.legit == 2 && labels.unlabeled == 1)
        #expect(labels.confusion.fraud == OutcomeCounts(approve: 1, review: 1, decline: 1))
        #expect(labels.decline == FlagMetrics(truePositives: 1, falsePositives: 1, falseNegatives: 2, trueNegatives: 1))
        #expect(labels.fraudAmounts.first { $0.currency == "USD" } == CurrencyAmounts(currency: "USD", fraudMinor: 1_200, declinedMinor: 500, reviewedMinor: 0))
        #expect(labels.scenarios.first { $0.scenario == "card_testing" }?.outcomes == OutcomeCounts(approve: 1, decline: 1))
        #expect(summary.model?.scoredEvents == 5)
        #expect(summary.timeline.map(\.outcomes) == once.timeline.map(\.outcomes))
        // The redelivery's later time still widens the span: it is an event of the input.
        #expect(summary.lastEventTime == "2026-01-01T00:03:00.000Z")

        let text = SummaryText.render(summary)
        #expect(text.contains("\nredelivered 3 records of payments decided before: 6 payments, each counted once below\n  1 of them another payment under a payment_id already decided (reused id): not decided, so not in the decisions file; reported as dead letters (kind payment_id_reused)\n"), "\(text)")
        #expect(text.contains("decisions  approve 3 (50.00%)  review 1 (16.67%)  decline 2 (33.33%)  (one per payment, its first decision)\n"), "\(text)")
        let json = String(decoding: try SummaryJSON.encode(summary), as: UTF8.self)
        #expect(json.contains("\"redelivered\" : 3,"), "\(json)")
        #expect(json.contains("\"reused_payment_ids\" : 1,"), "\(json)")
        #expect(try SummaryJSON.decode(ReplaySummary.self, from: Array(json.utf8)) == summary)
        let html = ReplayReport(run: ReplayRun(name: "r", summary: summary, scores: builder.scores), source: "in").html()
        #expect(html.contains("redelivered (counted once)"))
        #expect(html.contains("payment_id reused"))
    }

    @Test("first deliveries: each payment id is first once, then a redelivery, exactly (ids whose text differs stay apart)")
    func firstDeliveries() {
        var deliveries = FirstDeliveries()
        let ids = ["p1", "p2", "p1", "p1 ", "p2", "p1"]
        #expect(ids.map { deliveries.isFirst($0) } == [true, true, false, true, false, false])
    }

    @Test("first deliveries: ids whose hashes collide stay apart, by their bytes (a prefix, an empty id, a longer id)")
    func firstDeliveriesCollide() {
        var deliveries = FirstDeliveries(hasher: SeededHash(seed: 0), fixedHash: 42)
        let ids = ["pay_1", "pay_10", "pay_1", "", "pay_", "", "pay_10", "pay_1234567890123456789", "pay_1234567890123456788"]
        #expect(ids.map { deliveries.isFirst($0) } == [true, true, false, true, true, false, false, true, true])
    }

    @Test("first deliveries, a batch at a time: a redelivery within the batch and of an earlier batch, the same answers as one at a time")
    func firstDeliveriesBatch() {
        var batched = FirstDeliveries(), single = FirstDeliveries()
        let first = ["p1", "p2", "p1", "p3"].map { Fixtures.event($0) }
        let second = ["p3", "p4", "p2", "p4", "p5"].map { Fixtures.event($0) }
        var redelivery: [Bool] = []
        batched.markRedeliveries(first, into: &redelivery)
        #expect(redelivery == [false, false, true, false])
        batched.markRedeliveries(second, into: &redelivery)
        #expect(redelivery == [false, false, true, false, true, false, true, true, false])
        #expect((first + second).map { !single.isFirst($0.paymentID) } == redelivery)
        // Thousands of ids: the index grows (doubling) with every earlier id still found.
        var many = FirstDeliveries()
        var marks: [Bool] = []
        let events = (0..<5_000).map { Fixtures.event("pay_\($0 % 3_000)") }
        many.markRedeliveries(events, into: &marks)
        #expect(marks == (0..<5_000).map { $0 >= 3_000 })
    }

    @Test("the diff compares a redelivered payment once")
    func diffCountsPaymentsOnce() {
        var diff = DecisionDiffBuilder()
        var deliveries = FirstDeliveries()
        let event = Fixtures.event("p1", label: .fraud, scenario: "card_testing")
        for _ in 0..<3 {
            diff.add(event, baseline: Fixtures.decision(event, .approve), candidate: Fixtures.decision(event, .decline, rules: ["r"]),
                     redelivery: !deliveries.isFirst(event.paymentID))
        }
        let result = diff.diff()
        #expect(result.events == 1)
        #expect(result.flipped == 1)
        #expect(result.flips.map(\.count) == [1])
        #expect(result.groups.map(\.events) == [1])
        #expect(result.rules.map(\.onlyCandidate) == [1])
    }

    @Test("no labels: no label section, no model section")
    func unlabeled() {
        var builder = ReplaySummaryBuilder()
        let event = Fixtures.event("u1")
        builder.add(event, Fixtures.decision(event, .approve, model: "none"))
        let summary = builder.summary()
        #expect(summary.labels == nil)
        #expect(summary.model == nil)
        #expect(summary.modelVersions == ["none"])
    }

    @Test("the JSON form decodes back to the same summary and is byte-stable")
    func jsonRoundTrip() throws {
        let summary = Self.sample().summary()
        let bytes = try SummaryJSON.encode(summary)
        #expect(try SummaryJSON.decode(ReplaySummary.self, from: bytes) == summary)
        #expect(try SummaryJSON.encode(Self.sample().summary()) == bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"decline_or_review\" : {"))
        #expect(text.contains("\"caught_minor\" : 9000"))
        #expect(text.contains("\"precision\" : null"))
    }

    @Test("timeline picks the smallest round bucket giving at most maxBuckets", arguments: [
        (span: Int64(10), max: 120, size: 1, count: 11),
        (span: Int64(600), max: 120, size: 15, count: 41),
        (span: Int64(43_199), max: 120, size: 360, count: 120),
        (span: Int64(43_199), max: 10, size: 10_080, count: 5),
    ])
    func timelineBuckets(span: Int64, max: Int, size: Int, count: Int) {
        var timeline = DecisionTimeline()
        timeline.add(time: Fixtures.start, outcome: .approve, isFraud: false)
        timeline.add(time: Fixtures.start + .minutes(span), outcome: .decline, isFraud: true)
        let buckets = timeline.buckets(maxBuckets: max)
        #expect(buckets.count == count)
        #expect(buckets.allSatisfy { $0.minutes == size })
        #expect(buckets.reduce(0) { $0 + $1.outcomes.total } == 2)
        #expect(buckets.last!.outcomes.decline == 1)
    }

    @Test("the terminal summary shows the metrics table and the rule table")
    func text() {
        let text = SummaryText.render(Self.sample().summary())
        #expect(text.contains("decisions  approve 3 (50.00%)  review 1 (16.67%)  decline 2 (33.33%)  (one per payment, its first decision)\n"))
        #expect(!text.contains("redelivered"))
        #expect(text.contains("  decline               0.5000  0.3333  0.4000              0.50000       1             1\n"))
        #expect(text.contains("  card_testing          2         1         0         1   50.0%           50.0%\n"))
        #expect(text.contains("  new_idea       review (shadow)     2      1      1     0.5000\n"))
    }
}
