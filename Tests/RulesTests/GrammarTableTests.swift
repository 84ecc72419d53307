import Features
import FraudCore
import Testing
@testable import Rules

/// The grammar as tables: expressions with their static type and value (on `sampleEvent()`:
/// 12.50 USD, card and IP in the US, Sunday 2026-11-29 10:30 UTC), precedence, and invalid
/// expressions with their exact messages. Bool rows also run as a rule through the condition
/// machine, which must agree.
struct GrammarTableTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var expression: String
        var type: String
        var value: RuntimeValue
        var testDescription: String { expression }
        init(_ expression: String, _ type: String, _ value: RuntimeValue) {
            self.expression = expression
            self.type = type
            self.value = value
        }
    }

    static func usd(_ minor: Int64) -> RuntimeValue { .money(Money(minorUnits: minor, currency: .usd)) }

    static let values: [Row] = [
        // Literals.
        Row("42", "int", .int(42)), Row("-7", "int", .int(-7)), Row("0.25", "decimal", .decimal(0.25)),
        Row("\"a\\\"b\"", "string", .string("a\"b")), Row("true", "bool", .bool(true)),
        Row("5.00 USD", "money", usd(500)), Row("5 USD", "money", usd(500)), Row("1500 JPY", "money", .money(Money(minorUnits: 1500, currency: Currency("JPY")!))),
        Row("1.250 KWD", "money", .money(Money(minorUnits: 1250, currency: Currency("KWD")!))),
        Row("500ms", "duration", .duration(500)), Row("30s", "duration", .duration(30_000)), Row("10m", "duration", .duration(600_000)),
        Row("24h", "duration", .duration(86_400_000)), Row("7d", "duration", .duration(604_800_000)),
        // Arithmetic and its precedence and associativity.
        Row("1 + 2 * 3", "int", .int(7)), Row("(1 + 2) * 3", "int", .int(9)), Row("10 - 2 - 3", "int", .int(5)),
        Row("2 * 3 % 4", "int", .int(2)), Row("7 / 2", "decimal", .decimal(3.5)), Row("8 / 2 / 2", "decimal", .decimal(2)),
        Row("-2 * 3", "int", .int(-6)), Row("-3 - 2", "int", .int(-5)), Row("- -3", "int", .int(3)), Row("7 % 3", "int", .int(1)),
        Row("1 + 2.5", "decimal", .decimal(3.5)), Row("7 % 0", "int", .missing), Row("1 / 0", "decimal", .missing),
        Row("9223372036854775807 + 1", "int", .missing), Row("-9223372036854775807 - 2", "int", .missing),
        // Money and durations.
        Row("5.00 USD + 2.50 USD", "money", usd(750)), Row("10.00 USD * 3", "money", usd(3000)), Row("2 * 10.00 USD", "money", usd(2000)),
        Row("10.00 USD / 4", "money", usd(250)), Row("0.05 USD / 3", "money", usd(2)), Row("10.00 USD / 4.00 USD", "decimal", .decimal(2.5)),
        Row("10.00 EUR + 1.08 USD", "money", .money(Money(minorUnits: 1100, currency: .eur))), Row("-amount", "money", usd(-1250)),
        Row("10m + 30s", "duration", .duration(630_000)), Row("1h * 2", "duration", .duration(7_200_000)), Row("1h - 90m", "duration", .duration(-1_800_000)),
        // Comparisons, money across currencies, missing values.
        Row("10m == 600s", "bool", .bool(true)), Row("1 + 2 == 3", "bool", .bool(true)), Row("2 < 2.5", "bool", .bool(true)),
        Row("5.00 USD > 4.00 EUR", "bool", .bool(true)), Row("100 JPY < 1.00 USD", "bool", .bool(true)), Row("4.00 EUR > 4.00 USD", "bool", .bool(true)),
        Row("amount == 12.50 USD", "bool", .bool(true)), Row("amount > 1000 JPY", "bool", .bool(true)), Row("amount < 12.51 USD", "bool", .bool(true)),
        Row("1 / 0 > 1", "bool", .missing), Row("beneficiary_id == \"b\"", "bool", .missing), Row("not (beneficiary_id == \"b\")", "bool", .missing),
        Row("is_missing(beneficiary_id)", "bool", .bool(true)), Row("is_missing(1 / 0 > 1)", "bool", .bool(true)), Row("true == false", "bool", .bool(false)),
        // Logic and its precedence: not > and > or.
        Row("true or false and false", "bool", .bool(true)), Row("(true or false) and false", "bool", .bool(false)),
        Row("not false and false", "bool", .bool(false)), Row("not (false and false)", "bool", .bool(true)), Row("not true or true", "bool", .bool(true)),
        Row("1 < 2 and 2 < 3", "bool", .bool(true)), Row("false or 1 + 1 == 2", "bool", .bool(true)),
        // Strings, lists and patterns.
        Row("\"a\" in [\"a\", \"b\"]", "bool", .bool(true)), Row("\"c\" not in [\"a\"]", "bool", .bool(true)), Row("3 in [1, 2, 3]", "bool", .bool(true)),
        Row("2.5 in [1, 2.5]", "bool", .bool(true)), Row("2 in [1, 2.5]", "bool", .bool(false)), Row("mcc in []", "bool", .bool(false)),
        Row("\"abc\" like \"a%\"", "bool", .bool(true)), Row("\"abc\" like \"a_\"", "bool", .bool(false)), Row("\"a%\" like \"a\\\\%\"", "bool", .bool(true)),
        Row("\"abc\" matches \"^a.c$\"", "bool", .bool(true)), Row("\"xabcx\" matches \"b\"", "bool", .bool(true)),
        // Functions.
        Row("abs(-5)", "int", .int(5)), Row("abs(-2.5)", "decimal", .decimal(2.5)), Row("round(2.5)", "int", .int(3)), Row("floor(-1.5)", "int", .int(-2)),
        Row("ceil(1.2)", "int", .int(2)), Row("min(3, 5)", "int", .int(3)), Row("max(2.5, 1)", "decimal", .decimal(2.5)),
        Row("min(5.00 USD, 4.00 EUR)", "money", .money(Money(minorUnits: 400, currency: .eur))), Row("coalesce(1 / 0, 7)", "decimal", .decimal(7)),
        Row("coalesce(beneficiary_id, \"none\")", "string", .string("none")), Row("lower(\"ABC\")", "string", .string("abc")),
        Row("upper(mcc)", "string", .string("5411")), Row("length(\"abc\")", "int", .int(3)), Row("sqrt(16)", "decimal", .decimal(4)),
        Row("log(0)", "decimal", .missing), Row("exp(0)", "decimal", .decimal(1)), Row("log1p(0)", "decimal", .decimal(0)),
        // Event fields and engine values.
        Row("amount", "money", usd(1250)), Row("amount_usd", "decimal", .decimal(12.5)), Row("amount_minor", "int", .int(1250)),
        Row("card_country", "country", .string("US")), Row("card_country == ip_country", "bool", .bool(true)), Row("channel", "string", .string("ecom")),
        Row("type == \"payment\"", "bool", .bool(true)), Row("currency", "string", .string("USD")), Row("metadata.scenario", "string", .string("normal")),
        Row("metadata.absent", "string", .missing), Row("beneficiary_id", "string", .missing), Row("model_score", "decimal", .missing),
        Row("hour_of_day()", "int", .int(10)), Row("day_of_week()", "int", .int(7)),
    ]

    @Test(arguments: values)
    func expressionHasTypeAndValue(_ row: Row) throws {
        var sink = DiagnosticSink(file: "expr")
        let parsed = Parser.parseExpression(row.expression, sink: &sink)
        let node = try #require(parsed, "\(sink.diagnostics)")
        var compiler = Compiler(file: "expr", plan: FeaturePlan(), rates: .builtIn)
        compiler.sink = sink
        let compiled = compiler.compile(node)
        #expect(compiler.sink.diagnostics.map(\.description) == [])
        let code = try #require(compiled?.code)
        #expect(compiled?.type.description == row.type)
        #expect(code.value(Frame(event: sampleEvent(), row: Frame.emptyRow, lets: 0)) == row.value)
        if row.type == "bool" {
            let ruleSet = try compileRules("rule r: review if \(row.expression)")
            let matched = ruleSet.evaluate(event: sampleEvent(), features: []).reasons.map(\.rule)
            #expect(matched == (row.value == .bool(true) ? ["r"] : []))
        }
    }

    struct Invalid: CustomTestStringConvertible, Sendable {
        var rules: String
        var errors: [String]
        var testDescription: String { rules }
        init(_ rules: String, _ errors: [String]) {
            self.rules = rules
            self.errors = errors
        }
    }

    /// The type checker and the parser: each invalid file with its exact messages.
    static let invalid: [Invalid] = [
        // Types.
        Invalid("rule a: review if amount_usd + \"x\" > 1", ["test.rules:1:30: cannot apply '+' to decimal and string"]),
        Invalid("rule a: review if amount + 5 > 1.00 USD", ["test.rules:1:26: cannot apply '+' to money and int; give the number a currency, e.g. 5.00 USD"]),
        Invalid("rule a: review if not amount_usd", ["test.rules:1:19: 'not' needs a bool, found decimal"]),
        Invalid("rule a: review if -mcc == \"1\"", ["test.rules:1:19: unary '-' needs a number, money or a duration, found string"]),
        Invalid("rule a: review if amount_usd and true", ["test.rules:1:30: 'and' needs bool operands, found decimal"]),
        Invalid("rule a: review if true or mcc", ["test.rules:1:24: 'or' needs bool operands, found string"]),
        Invalid("rule a: review if mcc in \"5411\"", ["test.rules:1:23: 'in' needs a list on the right ([…] or @name), found string"]),
        Invalid("rule a: review if mcc in [1, 2]", ["test.rules:1:23: cannot look up a string in a list<int>; quote the list's values"]),
        Invalid("rule a: review if amount_usd like \"5%\"", ["test.rules:1:30: 'like' needs a string on the left, found decimal"]),
        Invalid("rule a: review if 10m > 5", ["test.rules:1:23: cannot compare int with duration; durations need units (10m, 24h) and seconds_since_* return seconds as int"]),
        Invalid("rule a: review if true == 1", ["test.rules:1:24: cannot compare bool with int"]),
        Invalid("rule a: review if true < false", ["test.rules:1:24: cannot compare bool with bool"]),
        Invalid("rule a: review if card_country == 5", ["test.rules:1:32: cannot compare country with int"]),
        Invalid("rule a: review if card_country == \"usa\"", ["test.rules:1:32: \"usa\" is not a country code; countries are two upper-case letters (ISO 3166-1 alpha-2) such as \"US\""]),
        Invalid("rule a: review if sum(amount_usd, account_id) > 1", ["test.rules:1:19: 'sum' takes 3 arguments: sum(FIELD, KEY, WINDOW), e.g. sum(amount_usd, account_id, 24h)"]),
        Invalid("rule a: review if count(card_fingerprint, 0m) > 1", ["test.rules:1:43: the window must be longer than 0"]),
        Invalid("rule a: review if count(card_fingerprint, 9223372036854775807ms) > 1",
                ["test.rules:1:43: the window 9223372036854775807ms is longer than the longest allowed, 366d"]),
        Invalid("rule a: review if count(\"x\", 1h) > 1", ["test.rules:1:25: the key of the window must be an event field such as card_fingerprint"]),
        Invalid("rule a: review if log(\"x\") > 1", ["test.rules:1:19: 'log' needs a number, found string"]),
        Invalid("rule a: review if coalesce(1, \"x\") == 1", ["test.rules:1:19: coalesce needs two values of one type, found int and string"]),
        Invalid("rule a: review if lower(5) == \"x\"", ["test.rules:1:19: 'lower' needs a string, found int"]),
        Invalid("rule a: review if hour_of_day(1) > 1", ["test.rules:1:19: 'hour_of_day' takes 0 arguments: hour_of_day() of the event time in UTC"]),
        Invalid("rule a: review if abs(mcc) > 1", ["test.rules:1:19: 'abs' needs a number or money, found string"]),
        Invalid("rule a: review if lower(mcc, where channel == \"pos\") == \"x\"", ["test.rules:1:19: only aggregates take a 'where' filter; 'lower' does not"]),
        Invalid("rule a: review if 1 in [1, \"a\"]", ["test.rules:1:28: list mixes number and string elements"]),
        Invalid("rule a: review if mcc", ["test.rules:1:19: the condition of rule 'a' must be a bool, found string"]),
        Invalid("let x = [1]\nrule a: review if true", ["test.rules:1:9: a let holds a value, not a list; declare lists with 'list x = […]'"]),
        Invalid("let x = 1\nlet x = 2\nrule a: review if x > 1", ["test.rules:2:1: 'x' is already defined; a let is defined once"]),
        Invalid("let count = 1\nrule a: review if true", ["test.rules:1:1: 'count' is a function; choose another name"]),
        Invalid("list l = [\"a\"]\nrule a: review if l == \"a\"", ["test.rules:2:19: 'l' is a list; write '@l'"]),
        Invalid("rule a: review if hour_of_day > 1", ["test.rules:1:19: 'hour_of_day' is a function; call it as hour_of_day(…)"]),
        Invalid("rule a: review if metadata == \"x\"", ["test.rules:1:19: unknown field 'metadata'; metadata fields are written metadata.KEY"]),
        Invalid("threshold review if risk_points > \"x\"", ["test.rules:1:33: cannot compare int with string"]),
        Invalid("rule a: review if amount_usd > 1 because \"{@l}\"", ["test.rules:1:44: unknown list '@l'"]),
        // Syntax.
        Invalid("rule a: review", ["test.rules:1:15: expected 'if' before the rule's condition, found end of file"]),
        Invalid("rule a: review if", ["test.rules:1:18: expected a value, found end of file"]),
        Invalid("rule a: review if (true", ["test.rules:1:24: expected ')' to close '(' at 1:19, found end of file"]),
        Invalid("rule a: review if count(card_fingerprint 10m) > 1", ["test.rules:1:42: expected ')' to close the call to 'count', found '10m'"]),
        Invalid("rule a: review +x if true", ["test.rules:1:17: expected whole risk points after '+' (at most 1000000)"]),
        Invalid("rule a: review if true because 5", ["test.rules:1:32: expected the reason as a string after 'because'"]),
        Invalid("rule a: review if true because \"{amount\"", ["test.rules:1:33: unclosed '{' in reason"]),
        Invalid("shadow threshold review if true", ["test.rules:1:8: expected 'rule' after 'shadow', found 'threshold'"]),
        Invalid("list l = file(1)\nrule a: review if true", ["test.rules:1:15: expected the list file path as a string"]),
        Invalid("rule a: review if 5 USD USD", ["test.rules:1:19: the condition of rule 'a' must be a bool, found money", "test.rules:1:25: expected a declaration (rule, shadow rule, let, list, threshold or version), found 'USD'"]),
    ]

    @Test(arguments: invalid)
    func invalidProgramHasExactMessages(_ row: Invalid) {
        #expect(compileErrors(row.rules) == row.errors)
    }
}
