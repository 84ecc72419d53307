import FraudCore
import Testing
@testable import Features

@Suite("Feature expression parser")
struct FeatureExpressionParserTests {
    @Test("Expressions parse to their canonical names", arguments: [
        ("count(card_fingerprint, 10m)", "count(card_fingerprint,10m)"),
        ("count( card_fingerprint ,60m )", "count(card_fingerprint,1h)"),
        ("sum(amount_usd, account_id, 24h)", "sum(amount_usd,account_id,1d)"),
        ("avg(amount_minor,ip,30s)", "avg(amount_minor,ip,30s)"),
        ("min(amount_minor, device_id, 500ms)", "min(amount_minor,device_id,500ms)"),
        ("max(amount_usd, merchant_id, 7d)", "max(amount_usd,merchant_id,7d)"),
        ("distinct(ip, account_id, 1h)", "distinct(ip,account_id,1h)"),
        ("distinct(metadata.session, account_id, 1h)", "distinct(metadata.session,account_id,1h)"),
        ("seconds_since_first(card_fingerprint)", "seconds_since_first(card_fingerprint)"),
        ("seconds_since_last( device_id )", "seconds_since_last(device_id)"),
        ("count(card_fingerprint, 1h, where channel == \"ecom\")", "count(card_fingerprint,1h,where channel==\"ecom\")"),
        ("count(card_fingerprint, 1h, where channel == \"ecom\" and type in [\"payment\", \"transfer\"])",
         "count(card_fingerprint,1h,where channel==\"ecom\" and type in [\"payment\",\"transfer\"])"),
        ("sum(amount_minor, ip, 1h, where type not in [\"refund\"] and mcc != \"4829\")",
         "sum(amount_minor,ip,1h,where type not in [\"refund\"] and mcc!=\"4829\")"),
        ("seconds_since_last(account_id, where channel==\"p2p\")", "seconds_since_last(account_id,where channel==\"p2p\")"),
        // Quotes and backslashes inside values stay escaped, so one value `a","b` is not two.
        (#"count(card_fingerprint, 1h, where metadata.x in ["a\",\"b"])"#, #"count(card_fingerprint,1h,where metadata.x in ["a\",\"b"])"#),
        (#"count(card_fingerprint, 1h, where metadata.x == "back\\slash")"#, #"count(card_fingerprint,1h,where metadata.x=="back\\slash")"#),
    ])
    func canonical(text: String, name: String) throws {
        let spec = try FeatureSpec(parsing: text)
        #expect(spec.canonicalName == name)
        // The canonical name is itself a valid expression of the same feature.
        #expect(try FeatureSpec(parsing: spec.canonicalName) == spec)
    }

    @Test("A value holding quotes and the two values it reads like are two features of a plan")
    func quotedValuesAreDistinctFeatures() throws {
        let one = try FeatureSpec(parsing: #"count(card_fingerprint, 1h, where metadata.x in ["a\",\"b"])"#)
        let two = try FeatureSpec(parsing: #"count(card_fingerprint, 1h, where metadata.x in ["a","b"])"#)
        #expect(one.filter?.clauses.first?.values == [#"a","b"#])
        #expect(two.filter?.clauses.first?.values == ["a", "b"])
        #expect(one.canonicalName != two.canonicalName)
        #expect(FeaturePlan([one, two]).count == 2)
    }

    @Test("Errors say what and where, with a suggestion", arguments: [
        ("cuont(card_fingerprint, 10m)", 1, "unknown aggregate 'cuont'; did you mean 'count'?; aggregates are count, sum, avg, min, max, distinct, seconds_since_first, seconds_since_last"),
        ("count(card_fingerprnt, 10m)", 7, "unknown field 'card_fingerprnt'; did you mean 'card_fingerprint'?"),
        ("count(card_fingerprint, 10x)", 25, "invalid window '10x': expected a whole number followed by ms, s, m, h or d (e.g. 30s, 10m, 24h, 7d)"),
        ("count(card_fingerprint, 0s)", 25, "window must be longer than 0"),
        ("count(card_fingerprint, 367d)", 25, "window '367d' is longer than the longest allowed, 366d"),
        ("count(card_fingerprint, 9223372036854775807ms)", 25, "window '9223372036854775807ms' is longer than the longest allowed, 366d"),
        ("count(card_fingerprint)", 1, "count takes count(KEY, WINDOW): 2 arguments before any where, got 1"),
        ("sum(ip, account_id, 1h)", 5, "sum needs a numeric field (amount_minor or amount_usd), got 'ip'"),
        ("seconds_since_last(card_fingerprint, 1h)", 1, "seconds_since_last takes seconds_since_last(KEY): 1 argument before any where, got 2"),
        ("count(card_fingerprint, 1h", 27, "expected ',' between the arguments of count(KEY, WINDOW), found end of input"),
        ("count(card_fingerprint, 1h, where channel = \"ecom\")", 43, "expected ==, !=, in or not in after 'channel', found '= \"ecom\")'"),
        ("count(card_fingerprint, 1h, where channel == ecom)", 46, "expected a double-quoted string, found 'ecom)'"),
        ("count(card_fingerprint, 1h, where channel == \"ecom\" or channel == \"pos\")", 53, "only 'and' may join filter clauses; write two features instead of 'or'"),
        ("count(card_fingerprint, 1h) x", 29, "unexpected 'x' after the expression"),
    ])
    func errors(text: String, column: Int, message: String) {
        #expect(throws: FeatureParseError(message, column: column)) { try FeatureSpec(parsing: text) }
    }

    @Test("A list splits at top-level commas only")
    func list() throws {
        let specs = try FeatureSpec.parseList("count(card_fingerprint,10m), sum(amount_minor, account_id, 1h, where type in [\"payment\",\"transfer\"]),seconds_since_last(ip)")
        #expect(specs.map(\.canonicalName) == [
            "count(card_fingerprint,10m)",
            "sum(amount_minor,account_id,1h,where type in [\"payment\",\"transfer\"])",
            "seconds_since_last(ip)",
        ])
    }

    @Test("List errors point into the whole list")
    func listError() {
        #expect(throws: FeatureParseError("unknown aggregate 'summ'; did you mean 'sum'?; aggregates are count, sum, avg, min, max, distinct, seconds_since_first, seconds_since_last", column: 31)) {
            try FeatureSpec.parseList("count(card_fingerprint, 10m), summ(amount_minor, ip, 1h)")
        }
        #expect(throws: FeatureParseError("expected ',' between features, found 'count(ip,1m)'", column: 30)) {
            try FeatureSpec.parseList("count(card_fingerprint, 10m) count(ip,1m)")
        }
    }
}
