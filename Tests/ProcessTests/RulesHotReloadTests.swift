import Foundation
import Testing
import LocalStackSupport

/// Hot reload in the real engine: `waqiti serve` scoring over HTTP while its rules file is
/// rewritten with a good change, a broken change, and a fix.
@Suite("rules hot reload in a running engine", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct RulesHotReloadTests {
    static let first = """
    version "hot-1"
    rule big_ticket: review +40 if amount > 500.00 USD
        because "{amount} is over 500.00 USD"
    """

    static let second = """
    version "hot-2"
    rule big_ticket: decline +60 if amount > 500.00 USD
        because "{amount} is over the new limit"
    rule foreign_card: review +10 if card_country != ip_country
    """

    /// Two errors, so the test sees that every error of the file is reported.
    static let broken = """
    version "hot-3"
    rule big_ticket: decline +60 if amount > 500
    rule foreign_card: review +10 if card_country != ip_countyr
    """

    static let fixed = """
    version "hot-3"
    rule big_ticket: decline +60 if amount > 500.00 USD
    rule foreign_card: review +10 if card_country != ip_country
    rule huge_ticket: decline +90 if amount_usd >= 5000
    """

    /// 750.00 USD from a German card on a US IP: matches `big_ticket` and `foreign_card`.
    static func event(_ id: String) -> Data {
        Data("""
        {"payment_id":"\(id)","occurred_at":"2026-11-29T08:15:30Z","account_id":"acct-hr","card_fingerprint":"card-hr","device_id":"dev-hr","ip":"203.0.113.9","merchant_id":"m-hr","mcc":"5411","amount_minor":75000,"currency":"USD","card_country":"DE","ip_country":"US","channel":"ecom","type":"payment"}
        """.utf8)
    }

    struct Decision: Equatable, CustomStringConvertible {
        var decision: String
        var points: Int
        var rules: [String]
        var messages: [String]
        var version: String
        var description: String { "\(decision) \(points) \(rules) \(messages) \(version)" }
    }

    static func score(_ engine: ServeFixture, _ id: String) async throws -> Decision {
        let response = try await engine.request("POST", "/v1/score?dry_run=true", body: event(id))
        guard response.status == 200 else { throw ProcessTestError.timeout("a decision for \(id), got \(response.status): \(response.text)") }
        let json = try response.json()
        let reasons = json["reasons"] as? [[String: Any]] ?? []
        return Decision(
            decision: json["decision"] as? String ?? "?", points: json["risk_points"] as? Int ?? -1,
            rules: reasons.compactMap { $0["rule"] as? String }, messages: reasons.compactMap { $0["message"] as? String },
            version: json["rules_version"] as? String ?? "?")
    }

    /// Replaces the file by rename, as editors and deploy tools save.
    static func write(_ text: String, to url: URL) throws {
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// The value of an unlabelled Prometheus counter in `/metrics`, 0 when not yet exported.
    static func counter(_ engine: ServeFixture, _ name: String) async throws -> Double {
        let metrics = try await engine.request("GET", "/metrics")
        for line in metrics.text.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{}") {
            return Double(line.split(separator: " ").last ?? "") ?? -1
        }
        return 0
    }

    /// Scores until the engine decides with `version` (the watcher polls every 500 ms).
    static func waitForVersion(_ engine: ServeFixture, _ version: String, timeout: Duration = .seconds(30)) async throws -> Decision {
        let deadline = ContinuousClock.now + timeout
        var attempt = 0
        while true {
            attempt += 1
            let decision = try await score(engine, "hr-wait-\(attempt)")
            if decision.version == version { return decision }
            guard ContinuousClock.now < deadline else { throw ProcessTestError.timeout("rules_version \(version); still \(decision)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test("good change decides the next payments, broken change is rejected and counted while the old set decides, fix is picked up")
    func goodBrokenFixed() async throws {
        let folder = try ProcessEnvironment.temporaryDirectory("hot-reload")
        let rules = folder.appendingPathComponent("hot.rules")
        try Self.write(Self.first, to: rules)
        let engine = try await ServeFixture(
            name: "hot-reload", topics: try EngineTopics.create("hot-reload"), environment: ["WAQITI_RULES_FILE": rules.path])

        let v1 = try RulesFileVersion.expected("hot-1", Self.first)
        #expect(try await Self.score(engine, "hr-1") == Decision(decision: "review", points: 40, rules: ["big_ticket"], messages: ["750.00 USD is over 500.00 USD"], version: v1))

        // A good change: the next decisions use it, exactly.
        try Self.write(Self.second, to: rules)
        let v2 = try RulesFileVersion.expected("hot-2", Self.second)
        _ = try await Self.waitForVersion(engine, v2)
        #expect(try await Self.score(engine, "hr-2") == Decision(
            decision: "decline", points: 70, rules: ["big_ticket", "foreign_card"], messages: ["750.00 USD is over the new limit"], version: v2))
        #expect(try await Self.counter(engine, "waqiti_rules_reload_failures_total") == 0)

        // A broken change: rejected with every error logged and counted; the old set keeps deciding.
        try Self.write(Self.broken, to: rules)
        try await engine.process.waitForOutput(containing: "rules reload rejected", timeout: .seconds(30))
        // swift-log renders the errors as a metadata array and escapes quotes inside it.
        let log = engine.process.standardError().replacingOccurrences(of: "\\'", with: "'")
        #expect(log.contains("\(rules.path):2:40: money compares only with money: give the number a currency (e.g. 500.00 USD) or use amount_usd"), "stderr ends:\n\(engine.process.stderrTail())")
        #expect(log.contains("\(rules.path):3:50: unknown field 'ip_countyr'; did you mean 'ip_country'?"), "stderr ends:\n\(engine.process.stderrTail())")
        #expect(try await Self.counter(engine, "waqiti_rules_reload_failures_total") == 1)
        #expect(try await Self.score(engine, "hr-3") == Decision(
            decision: "decline", points: 70, rules: ["big_ticket", "foreign_card"], messages: ["750.00 USD is over the new limit"], version: v2))
        // The same broken bytes are not retried: still one failure a few polls later.
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await Self.counter(engine, "waqiti_rules_reload_failures_total") == 1)

        // The fix: picked up, and the failure count stays as it was.
        try Self.write(Self.fixed, to: rules)
        let v3 = try RulesFileVersion.expected("hot-3", Self.fixed)
        _ = try await Self.waitForVersion(engine, v3)
        #expect(try await Self.score(engine, "hr-4") == Decision(
            decision: "decline", points: 70, rules: ["big_ticket", "foreign_card"], messages: [], version: v3))
        #expect(try await Self.counter(engine, "waqiti_rules_reload_failures_total") == 1)

        engine.process.terminate()
        #expect(try await engine.process.waitForExit(timeout: .seconds(60)) == 0)
    }
}
