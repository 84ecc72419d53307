import Features
import FraudCore
import Foundation
import Testing
@testable import Rules

struct CompileErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var rules: String
        var errors: [String]
        var testDescription: String { rules }
    }

    static let cases: [Case] = [
        Case(rules: "rule a: decline if cuont(card_fingerprint, 10m) > 5", errors: ["test.rules:1:20: unknown function 'cuont'; did you mean 'count'?"]),
        Case(rules: "rule a: decline if amount_usd > 5 and devce_id == \"d\"", errors: ["test.rules:1:39: unknown field 'devce_id'; did you mean 'device_id'?"]),
        Case(rules: "list blocked = [\"a\"]\nrule a: decline if device_id in @blokced", errors: ["test.rules:2:33: unknown list '@blokced'; did you mean '@blocked'?"]),
        Case(rules: "rule a: decilne if true", errors: ["test.rules:1:9: unknown action 'decilne'; did you mean 'decline'?; actions are allow, review and decline"]),
        Case(rules: "rule a: decline if amount > 500", errors: ["test.rules:1:27: money compares only with money: give the number a currency (e.g. 500.00 USD) or use amount_usd"]),
        Case(rules: "rule a: decline if amount == \"500\"", errors: ["test.rules:1:27: cannot compare money with string"]),
        Case(rules: "rule a: decline if sum(mcc, account_id, 1h) > 5", errors: ["test.rules:1:24: 'sum' needs a numeric field (amount_usd or amount_minor); 'mcc' is a string"]),
        Case(rules: "rule a: decline if count(card_fingerprint, 10) > 5", errors: ["test.rules:1:44: durations need units: write 10m, 10h or 10d, not 10"]),
        Case(rules: "rule a: decline if count(card_fingerprint, 10x) > 5", errors: ["test.rules:1:44: unknown duration unit 'x' in '10x'; use ms, s, m, h or d"]),
        Case(rules: "rule a: decline if amount > 5.001 USD", errors: ["test.rules:1:29: USD has 2 decimal places; '5.001 USD' has more"]),
        Case(rules: "rule a: decline if amount > 5 USX", errors: ["test.rules:1:31: unknown currency 'USX'; use an ISO 4217 code such as USD or EUR"]),
        Case(rules: "rule a: decline if amount_usd", errors: ["test.rules:1:20: the condition of rule 'a' must be a bool, found decimal"]),
        Case(rules: "rule a: decline if 1 < 2 < 3", errors: ["test.rules:1:26: comparisons do not chain; join them with 'and'"]),
        Case(rules: "rule a: decline if mcc = \"5411\"", errors: ["test.rules:1:24: '=' assigns; compare with '=='"]),
        Case(rules: "rule a: decline if mcc == 'x'", errors: ["test.rules:1:27: unexpected character '''; strings use double quotes", "test.rules:1:28: unknown field 'x'", "test.rules:1:29: unexpected character '''; strings use double quotes"]),
        Case(rules: "rule a: decline if true && false", errors: ["test.rules:1:25: unexpected character '&'; write 'and'", "test.rules:1:26: unexpected character '&'; write 'and'", "test.rules:1:28: expected a declaration (rule, shadow rule, let, list, threshold or version), found 'false'"]),
        Case(rules: "rule a: decline if risk_points > 10", errors: ["test.rules:1:20: 'risk_points' is the total of the matched rules' points and can only be used in a threshold"]),
        Case(rules: "rule a: decline if true\nrule a: review if true", errors: ["test.rules:2:1: rule 'a' is already defined at line 1; rule names must be unique"]),
        Case(rules: "version \"1\"\nversion \"2\"\nrule a: decline if true", errors: ["test.rules:2:1: version is already set at line 1; a file has one version"]),
        Case(rules: "let amount_usd = 3\nrule a: decline if true", errors: ["test.rules:1:1: 'amount_usd' is already an event field; choose another name"]),
        Case(rules: "list l = file(\"nope.txt\")\nrule a: decline if ip in @l", errors: ["test.rules:1:15: cannot read list file 'nope.txt': no such file"]),
        Case(rules: "rule a: decline if \"x\" like ip", errors: ["test.rules:1:29: 'like' needs a string literal pattern on the right, so it is compiled once at load"]),
        Case(rules: "rule a: decline if ip matches \"(\"", errors: ["test.rules:1:31: invalid pattern for 'matches': expected ')'"]),
        Case(rules: "rule a: decline if ip matches \"(a|ab)*c\"", errors: ["test.rules:1:31: invalid pattern for 'matches': a quantified alternation such as (a|ab)* can take exponential time; use a character class or list the cases with 'in'"]),
        Case(rules: "rule a: decline if ip matches \"(.)\\\\1\"", errors: ["test.rules:1:31: invalid pattern for 'matches': back-references are not allowed"]),
        Case(rules: "rule a: decline if mcc < \"5\"", errors: ["test.rules:1:24: strings compare only with ==, !=, in, not in, like and matches"]),
        Case(rules: "rule a: decline if seconds_since_last(card_fingerprint) < 10m", errors: ["test.rules:1:57: cannot compare int with duration; durations need units (10m, 24h) and seconds_since_* return seconds as int"]),
        Case(rules: "rule a: decline if count(amount, 1h) > 1", errors: ["test.rules:1:26: 'amount' mixes currencies; aggregate amount_usd (converted) or amount_minor"]),
        Case(rules: "rule a: decline if count(card_fingerprint, 1h, where amount_usd > 5) > 1", errors: ["test.rules:1:65: a 'where' filter compares event fields with strings, joined by 'and' (e.g. where channel == \"ecom\" and type != \"refund\")"]),
        Case(rules: "rule a: review if true because \"{cuont}\"", errors: ["test.rules:1:34: unknown field 'cuont'; did you mean 'count'?"]),
        Case(rules: "", errors: ["test.rules:1:1: the file declares no rules"]),
        Case(rules: "rule a: review if type == \"trasfer\"", errors: ["test.rules:1:24: 'trasfer' is not a type; did you mean 'transfer'?; type is one of payment, refund, transfer, withdrawal, topup"]),
        Case(rules: "rule a: review if channel not in [\"web\"]", errors: ["test.rules:1:27: 'web' is not a channel; channel is one of ecom, pos, p2p, wallet"]),
        Case(rules: "rule a: review if \"unterminated", errors: ["test.rules:1:19: the condition of rule 'a' must be a bool, found string", "test.rules:1:19: unterminated string; close it with '\"' on the same line"]),
        Case(rules: "rule a review if true", errors: ["test.rules:1:8: expected ':' after the rule name, found 'review'"]),
        Case(rules: "rule and: review if true", errors: ["test.rules:1:6: 'and' is a reserved word and cannot be a rule name"]),
        Case(rules: "rule a: review if card_country in [\"US\", \"usa\"]", errors: ["test.rules:1:32: \"usa\" is not a country code; countries are two upper-case letters such as \"US\""]),
        Case(rules: "rule a: review if count(card_fingerprint, 1h, where channel == \"atm\") > 1", errors: ["test.rules:1:64: 'atm' is not a channel; channel is one of ecom, pos, p2p, wallet"]),
        // The literal on either side, where clauses on countries and numbers, out-of-range money, columns after escapes.
        Case(rules: "rule a: review if \"trasfer\" == type", errors: ["test.rules:1:29: 'trasfer' is not a type; did you mean 'transfer'?; type is one of payment, refund, transfer, withdrawal, topup"]),
        Case(rules: "rule a: review if \"web\" != channel", errors: ["test.rules:1:25: 'web' is not a channel; channel is one of ecom, pos, p2p, wallet"]),
        Case(rules: "rule a: review if count(card_fingerprint, 1h, where card_country == \"usa\") > 1", errors: ["test.rules:1:69: \"usa\" is not a country code; countries are two upper-case letters (ISO 3166-1 alpha-2) such as \"US\""]),
        Case(rules: "rule a: review if count(card_fingerprint, 1h, where amount_usd == \"5\") > 1", errors: ["test.rules:1:53: a 'where' clause compares a string field; 'amount_usd' is a number: compare it in the rule's condition instead"]),
        Case(rules: "rule a: review if amount > 100000000000000000 USD", errors: ["test.rules:1:28: '100000000000000000 USD' is out of range; amounts are at most 9223372036854775807 minor units"]),
        Case(rules: "rule a: review if true because \"say \\\"hi\\\" to {cuont}\"", errors: ["test.rules:1:48: unknown field 'cuont'; did you mean 'count'?"]),
    ]

    @Test(arguments: cases)
    func reportsExactMessages(_ c: Case) {
        #expect(compileErrors(c.rules) == c.errors)
    }

    @Test func reportsEveryErrorOfAFileAtOnce() {
        let errors = compileErrors("""
        version "v1"
        rule one: decline if cuont(card_fingerprint, 10m) >= 5
        rule two: review if amount > 500
        rule three review if true
        let x = 1 +
        rule four: allow if ip_country == "GBR"
        rule five: decline if @nowhere
        """)
        #expect(errors == [
            "test.rules:2:22: unknown function 'cuont'; did you mean 'count'?",
            "test.rules:3:28: money compares only with money: give the number a currency (e.g. 500.00 USD) or use amount_usd",
            "test.rules:4:12: expected ':' after the rule name, found 'review'",
            "test.rules:6:1: expected a value, found keyword 'rule'",
            "test.rules:7:23: unknown list '@nowhere'",
        ])
    }
}

/// Kleene logic: missing makes a comparison unknown; `not` keeps it unknown; a rule matches only on true.
struct ThreeValuedLogicTests {
    /// T, F and U (a comparison with a missing value) as expressions.
    static let operand = ["T": "true", "F": "false", "U": "beneficiary_id == \"b\""]

    struct Row: CustomTestStringConvertible, Sendable {
        var expression: String
        var result: String
        var testDescription: String { "\(expression) = \(result)" }
    }

    static let table: [Row] = [
        Row(expression: "T and T", result: "T"), Row(expression: "T and F", result: "F"), Row(expression: "T and U", result: "U"),
        Row(expression: "F and U", result: "F"), Row(expression: "U and F", result: "F"), Row(expression: "U and U", result: "U"),
        Row(expression: "T or U", result: "T"), Row(expression: "U or T", result: "T"), Row(expression: "F or U", result: "U"),
        Row(expression: "F or F", result: "F"), Row(expression: "U or U", result: "U"),
        Row(expression: "not T", result: "F"), Row(expression: "not F", result: "T"), Row(expression: "not U", result: "U"),
        Row(expression: "is_missing(U)", result: "T"), Row(expression: "is_missing(T)", result: "F"),
    ]

    @Test(arguments: table)
    func truthTable(_ row: Row) throws {
        var text = row.expression
        for (name, expression) in Self.operand { text = text.replacingOccurrences(of: name, with: "(\(expression))") }
        text = text.replacingOccurrences(of: "is_missing((", with: "is_missing((").replacingOccurrences(of: "no(true)", with: "not")
        let ruleSet = try compileRules("rule r: review if \(text)")
        let matched = ruleSet.evaluate(event: sampleEvent(), features: []).outcome == .review
        var plan = Features.FeaturePlan()
        let value = try FeatureExpression(text, plan: &plan).evaluate(event: sampleEvent(), features: [])
        let got = value.isNaN ? "U" : value == 1 ? "T" : "F"
        #expect(got == row.result)
        #expect(matched == (row.result == "T"))
    }

    /// `"transfer" == type` is checked against the enum like `type == "transfer"` (a misspelt
    /// literal on the left loaded and never matched) and compares the same, on the closures and on
    /// the condition machine.
    @Test func aLiteralOnTheLeftComparesAsTheFieldOnTheRight() throws {
        let ruleSet = try compileRules("rule t: review if \"transfer\" == type\nrule c: review if \"pos\" != channel\nrule k: review if \"US\" == card_country")
        let transfer = sampleEvent { $0.type = .transfer }
        let pos = sampleEvent { $0.channel = .pos; $0.cardCountry = "DE" }
        #expect(ruleSet.evaluate(event: transfer, features: []).reasons.map(\.rule) == ["t", "c", "k"])
        #expect(ruleSet.evaluate(event: pos, features: []).reasons.map(\.rule) == [])
        for event in [transfer, pos] {
            let truths = ruleSet.conditionTruths(event: event, features: [], modelScore: .nan, riskPoints: 0)
            #expect(truths.closures == truths.machine)
        }
    }
}
