import Features
import FraudCore
import Testing
@testable import Rules

struct FeatureExpressionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var text: String
        var expected: Double
        var event: PaymentEvent = sampleEvent()
        var testDescription: String { text }
    }

    static let cases: [Case] = [
        Case(text: "1 + 2 * 3", expected: 7),
        Case(text: "(1 + 2) * 3", expected: 9),
        Case(text: "7 / 2", expected: 3.5),
        Case(text: "7 % 4", expected: 3),
        Case(text: "-amount_minor", expected: -1250),
        Case(text: "amount_usd", expected: 12.5),
        Case(text: "amount_usd", expected: 10.8, event: sampleEvent { $0.amount = money(1000, "EUR") }),
        Case(text: "amount", expected: 12.5),
        Case(text: "log1p(0)", expected: 0),
        Case(text: "exp(0) + abs(-2) + sqrt(16)", expected: 7),
        Case(text: "max(amount_usd, 20) - min(3, 4)", expected: 17),
        Case(text: "card_country != ip_country", expected: 0),
        Case(text: "card_country != ip_country", expected: 1, event: sampleEvent { $0.ipCountry = "NG" }),
        Case(text: "channel == \"ecom\"", expected: 1),
        Case(text: "channel == \"pos\"", expected: 0),
        Case(text: "hour_of_day()", expected: 10),
        Case(text: "day_of_week()", expected: 7),
        Case(text: "amount > 10.00 USD", expected: 1),
        Case(text: "amount > 12.50 USD", expected: 0),
        Case(text: "amount >= 12.50 USD", expected: 1),
        Case(text: "amount < 10.00 EUR", expected: 0, event: sampleEvent { $0.amount = money(1000, "EUR") }),
        Case(text: "amount == 10.00 EUR", expected: 1, event: sampleEvent { $0.amount = money(1000, "EUR") }),
        // 10 EUR is 10.80 USD at the built-in rate: the comparison converts, it never compares 1000 with 1100.
        Case(text: "amount < 11.00 USD", expected: 1, event: sampleEvent { $0.amount = money(1000, "EUR") }),
        Case(text: "amount * 2 == 25.00 USD", expected: 1),
        Case(text: "metadata.scenario == \"normal\"", expected: 1),
        Case(text: "is_missing(beneficiary_id)", expected: 1),
        Case(text: "beneficiary_id == \"b1\"", expected: .nan),
        Case(text: "not (beneficiary_id == \"b1\")", expected: .nan),
        Case(text: "beneficiary_id == \"b1\" or true", expected: 1),
        Case(text: "beneficiary_id == \"b1\" and false", expected: 0),
        Case(text: "mcc in [\"5411\", \"5967\"]", expected: 1),
        Case(text: "mcc not in [\"5411\", \"5967\"]", expected: 0),
        Case(text: "merchant_id like \"m\\\\_%\"", expected: 1),
        Case(text: "ip matches \"^10\\\\.\"", expected: 1),
        Case(text: "10m + 30s", expected: 630),
        Case(text: "log(0)", expected: .nan),
        Case(text: "1 / 0", expected: .nan),
    ]

    @Test(arguments: cases)
    func evaluatesWithoutFeatures(_ c: Case) throws {
        var plan = FeaturePlan()
        let expression = try FeatureExpression(c.text, plan: &plan)
        let value = expression.evaluate(event: c.event, features: [])
        if c.expected.isNaN {
            #expect(value.isNaN)
        } else {
            #expect(abs(value - c.expected) < 1e-9, "\(c.text) = \(value)")
        }
        #expect(plan.count == 0)
    }

    @Test func aggregatesRegisterOneColumnEachAndReadTheirRow() throws {
        var plan = FeaturePlan()
        let a = try FeatureExpression("count(card_fingerprint, 1h)", plan: &plan)
        let b = try FeatureExpression("log1p(count( card_fingerprint , 1h ))", plan: &plan)
        let c = try FeatureExpression("distinct(ip, account_id, 24h)", plan: &plan)
        let d = try FeatureExpression("avg(amount_usd, account_id, 7d)", plan: &plan)
        #expect(plan.features.map(\.canonicalName) == ["count(card_fingerprint,1h)", "distinct(ip,account_id,1d)", "avg(amount_usd,account_id,7d)"])
        #expect(b.features.map(\.canonicalName) == ["count(card_fingerprint,1h)"])
        let row: [Double] = [4, 2, .nan]
        let event = sampleEvent()
        #expect(a.evaluate(event: event, features: row) == 4)
        #expect(abs(b.evaluate(event: event, features: row) - 1.6094379124341003) < 1e-12)
        #expect(c.evaluate(event: event, features: row) == 2)
        #expect(d.evaluate(event: event, features: row).isNaN)

        var out: [Double] = []
        FeatureExpression.evaluate([a, c], events: [event, event], features: [1, 5, 0, 2, 7, 0], featureCount: 3, into: &out)
        #expect(out == [1, 5, 2, 7])
    }

    @Test func whereFiltersAreFeatureSpecs() throws {
        var plan = FeaturePlan()
        _ = try FeatureExpression("count(card_fingerprint, 1h, where channel == \"ecom\" and mcc in [\"7995\", \"5967\"])", plan: &plan)
        #expect(plan.features.map(\.canonicalName) == ["count(card_fingerprint,1h,where channel==\"ecom\" and mcc in [\"5967\",\"7995\"])"])
    }

    struct Failure: CustomTestStringConvertible, Sendable {
        var text: String
        var message: String
        var testDescription: String { text }
    }

    static let failures: [Failure] = [
        Failure(text: "cuont(card_fingerprint, 1h)", message: "<expression>:1:1: unknown function 'cuont'; did you mean 'count'?"),
        Failure(text: "count(card_fingerprnt, 1h)", message: "<expression>:1:7: unknown field 'card_fingerprnt'; did you mean 'card_fingerprint'?"),
        Failure(text: "count(card_fingerprint, 10)", message: "<expression>:1:25: durations need units: write 10m, 10h or 10d, not 10"),
        Failure(text: "sum(merchant_id, account_id, 1h)", message: "<expression>:1:5: 'sum' needs a numeric field (amount_usd or amount_minor); 'merchant_id' is a string"),
        Failure(text: "merchant_id", message: "<expression>:1:1: a feature expression must be a number, money, a duration or a bool (1/0), not a string; compare it (channel == \"ecom\") to one-hot encode it"),
        Failure(text: "amount > 500", message: "<expression>:1:8: money compares only with money: give the number a currency (e.g. 500.00 USD) or use amount_usd"),
        Failure(text: "amount > \"500\"", message: "<expression>:1:8: cannot compare money with string"),
        Failure(text: "1 +", message: "<expression>:1:4: expected a value, found end of file"),
        Failure(text: "card_country == \"usa\"", message: "<expression>:1:14: \"usa\" is not a country code; countries are two upper-case letters (ISO 3166-1 alpha-2) such as \"US\""),
        Failure(text: "count(card_fingerprint, 1h, where channel == \"ecomm\")", message: "<expression>:1:46: 'ecomm' is not a channel; did you mean 'ecom'?; channel is one of ecom, pos, p2p, wallet"),
        Failure(text: "ip matches \"(a+)+$\"", message: "<expression>:1:12: invalid pattern for 'matches': nested quantifiers such as (a+)+ can take exponential time; rewrite without quantifying a quantified group"),
        Failure(text: "risk_points > 3", message: "<expression>:1:1: 'risk_points' is the total of the matched rules' points and can only be used in a threshold"),
    ]

    @Test(arguments: failures)
    func reportsExactErrors(_ f: Failure) {
        var plan = FeaturePlan()
        #expect(throws: RulesCompileError.self) { try FeatureExpression(f.text, plan: &plan) }
        do {
            _ = try FeatureExpression(f.text, plan: &plan)
        } catch {
            #expect(error.description == f.message)
        }
    }
}
