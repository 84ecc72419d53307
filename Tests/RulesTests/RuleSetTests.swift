import Features
import FraudCore
import Testing
@testable import Rules

struct RuleSetTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var rules: String
        var event: PaymentEvent = sampleEvent()
        /// Values for the aggregates, by canonical name.
        var features: [String: Double] = [:]
        var modelScore: Double = .nan
        var outcome: Outcome
        var reasons: [String]
        var points: Int = 0
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "nothing matches: approve", rules: "rule big: review if amount_usd > 1000", outcome: .approve, reasons: []),
        Case(name: "review rule", rules: "rule big: review if amount_usd > 10", outcome: .review, reasons: ["big"]),
        Case(name: "decline beats allow beats review",
             rules: """
             rule r: review +10 if true
             rule a: allow if true
             rule d: decline +5 if true
             """, outcome: .decline, reasons: ["r", "a", "d"], points: 15),
        Case(name: "allow overrides review",
             rules: """
             rule r: review +10 if true
             rule vip: allow -10 if account_id in ["acct_1"]
             """, outcome: .approve, reasons: ["r", "vip"], points: 0),
        Case(name: "shadow never changes the decision",
             rules: """
             shadow rule try_decline: decline +50 if true
             rule ok: review if false
             """, outcome: .approve, reasons: ["try_decline"]),
        Case(name: "threshold on points declines",
             rules: """
             rule a: review +30 if amount_usd > 10
             rule b: review +30 if mcc == "5411"
             threshold decline if risk_points >= 60
             """, outcome: .decline, reasons: ["a", "b", "threshold: risk_points >= 60"], points: 60),
        Case(name: "shadow points do not count towards thresholds",
             rules: """
             rule a: review +30 if amount_usd > 10
             shadow rule b: review +30 if mcc == "5411"
             threshold decline if risk_points >= 60
             """, outcome: .review, reasons: ["a", "b"], points: 30),
        Case(name: "model score threshold", rules: "threshold model_high: decline if model_score >= 0.9", modelScore: 0.95, outcome: .decline, reasons: ["model_high"]),
        Case(name: "no model: model score is missing", rules: "threshold model_high: decline if model_score >= 0.9", outcome: .approve, reasons: []),
        Case(name: "allow beats a review threshold",
             rules: """
             rule vip: allow if true
             threshold review if model_score > 0.5
             """, modelScore: 0.7, outcome: .approve, reasons: ["vip", "threshold: model_score > 0.5"]),
        Case(name: "velocity", rules: "rule card_testing: decline if count(card_fingerprint, 10m) >= 5 and amount < 5.00 USD",
             event: sampleEvent { $0.amount = money(100, "USD") }, features: ["count(card_fingerprint,10m)": 5], outcome: .decline, reasons: ["card_testing"]),
        Case(name: "velocity below", rules: "rule card_testing: decline if count(card_fingerprint, 10m) >= 5 and amount < 5.00 USD",
             event: sampleEvent { $0.amount = money(100, "USD") }, features: ["count(card_fingerprint,10m)": 4], outcome: .approve, reasons: []),
        Case(name: "missing makes a comparison false and not keeps it false",
             rules: """
             rule a: decline if beneficiary_id == "b"
             rule b: decline if not (beneficiary_id == "b")
             rule c: review if is_missing(beneficiary_id)
             """, outcome: .review, reasons: ["c"]),
        Case(name: "lets and lists",
             rules: """
             list risky = ["7995", "5967"]
             let spend = sum(amount_usd, account_id, 24h)
             let big = spend > 1000
             rule gambling: review if mcc in @risky and big
             """, event: sampleEvent { $0.mcc = "7995" }, features: ["sum(amount_usd,account_id,1d)": 2500], outcome: .review, reasons: ["gambling"]),
        Case(name: "mixed currencies compare converted",
             rules: "rule big: review if amount > 100.00 USD",
             event: sampleEvent { $0.amount = money(10000, "GBP") }, outcome: .review, reasons: ["big"]),
        Case(name: "like and matches",
             rules: """
             rule test_merchant: review if merchant_id like "m\\\\_%"
             rule tor: decline if ip matches "^10\\\\.0\\\\."
             """, outcome: .decline, reasons: ["test_merchant", "tor"]),
        Case(name: "metadata field", rules: "rule sim: review if metadata.scenario == \"normal\"", outcome: .review, reasons: ["sim"]),
        Case(name: "arithmetic precedence", rules: "rule p: review if 1 + 2 * 3 == 7 and (1 + 2) * 3 == 9 and 10 - 2 - 3 == 5", outcome: .review, reasons: ["p"]),
        Case(name: "and binds tighter than or", rules: "rule p: review if true or false and false", outcome: .review, reasons: ["p"]),
        Case(name: "not binds tighter than and", rules: "rule p: review if not false and false", outcome: .approve, reasons: []),
    ]

    @Test(arguments: cases)
    func decides(_ c: Case) throws {
        let ruleSet = try compileRules(c.rules)
        var row = [Double](repeating: .nan, count: ruleSet.featurePlan.count)
        for (name, value) in c.features { row[try #require(ruleSet.featurePlan.column(named: name))] = value }
        let verdict = ruleSet.evaluate(event: c.event, features: row, modelScore: c.modelScore)
        #expect(verdict.outcome == c.outcome)
        #expect(verdict.reasons.map(\.rule) == c.reasons)
        #expect(verdict.riskPoints == c.points)
    }

    @Test func reasonsCarryValuesShadowFlagsAndMessages() throws {
        let ruleSet = try compileRules("""
        version "v12"
        rule card_testing: decline +40 if count(card_fingerprint, 10m) >= 5 and amount < 5.00 USD because "{count(card_fingerprint,10m)} charges in 10 minutes, last {amount}"
        shadow rule new_rule: review +10 if card_country == ip_country
        """)
        let event = sampleEvent { $0.amount = money(99, "USD") }
        let verdict = ruleSet.evaluate(event: event, features: [7])
        #expect(verdict.reasons == [
            RuleReason(rule: "card_testing", action: .decline, points: 40, shadow: false,
                       values: [NamedValue(name: "count(card_fingerprint,10m)", value: .int(7)), NamedValue(name: "amount", value: .money(money(99, "USD")))],
                       message: "7 charges in 10 minutes, last 0.99 USD"),
            RuleReason(rule: "new_rule", action: .review, points: 10, shadow: true,
                       values: [NamedValue(name: "card_country", value: .string("US")), NamedValue(name: "ip_country", value: .string("US"))]),
        ])
        #expect(verdict.outcome == .decline)
        #expect(verdict.riskPoints == 40)
        #expect(verdict.decidedBy == "card_testing")
        #expect(ruleSet.label == "v12")
        #expect(ruleSet.version == "v12+" + ruleSet.contentHash.prefix(12))
    }

    @Test func anAggregateUsedByManyRulesIsOneColumnAppendedToTheSharedPlan() throws {
        var plan = FeaturePlan()
        let model = try FeatureExpression("distinct(ip, account_id, 24h)", plan: &plan)
        let ruleSet = try compileRules("""
        let tiny = amount < 5.00 USD
        rule a: review if count(card_fingerprint, 10m) > 1
        rule b: review if count( card_fingerprint,10m ) > 2 and tiny
        rule c: review if count(card_fingerprint, 10m) > 3 or distinct(ip, account_id, 24h) > 3
        rule d: review if count(card_fingerprint, 10m) > 4
        rule e: decline if count(card_fingerprint, 10m) > 5 because "{count(card_fingerprint, 10m)}"
        """, basePlan: plan)
        #expect(ruleSet.featurePlan.features.map(\.canonicalName) == ["distinct(ip,account_id,1d)", "count(card_fingerprint,10m)"])
        #expect(model.evaluate(event: sampleEvent(), features: [9, 1]) == 9)
        let verdict = ruleSet.evaluate(event: sampleEvent { $0.amount = money(100, "USD") }, features: [9, 6])
        #expect(verdict.reasons.map(\.rule) == ["a", "b", "c", "d", "e"])
        #expect(verdict.reasons.last?.message == "6")
    }

    @Test func batchEvaluationMatchesSingleEvaluation() throws {
        let ruleSet = try compileRules("""
        let velocity = count(card_fingerprint, 10m)
        rule burst: decline if velocity >= 5
        rule some: review +20 if velocity >= 2
        threshold review if model_score > 0.5
        """)
        let events = (0..<4).map { i in sampleEvent { $0.paymentID = "p\(i)" } }
        let counts: [Double] = [1, 2, 5, .nan]
        let scores: [Double] = [0.9, 0.1, 0.1, 0.1]
        let batch = ruleSet.evaluate(events: events, features: counts, featureCount: 1, modelScores: scores)
        #expect(batch.map(\.outcome) == [.review, .review, .decline, .approve])
        #expect(batch.map(\.riskPoints) == [0, 20, 20, 0])
        for i in events.indices {
            #expect(batch[i] == ruleSet.evaluate(event: events[i], features: [counts[i]], modelScore: scores[i]))
        }
    }

    @Test func versionHashesTheListFiles() throws {
        let text = """
        version "v3"
        list blocked = file("lists/blocked.txt")
        rule blocked_device: decline if device_id in @blocked
        """
        let a = try compileRules(text, lists: ["lists/blocked.txt": "dev_9\n"])
        let b = try compileRules(text, lists: ["lists/blocked.txt": "dev_1\n# comment\n\n"])
        #expect(a.version != b.version)
        #expect(a.version.hasPrefix("v3+") && a.version.count == 3 + 12)
        #expect(a.evaluate(event: sampleEvent(), features: []).outcome == .approve)
        #expect(b.evaluate(event: sampleEvent(), features: []).outcome == .decline)
    }
}
