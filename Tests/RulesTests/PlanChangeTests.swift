import Features
import Foundation
import FraudCore
import Logging
import MetricsTestKit
import Testing
import LocalStackSupport
@testable import Rules

/// A reload that adds an aggregate restarts its key field's windows in the stores (by design,
/// docs/features.md "Plan changes"); `restartedKeyFields` names them, and is held here to what the
/// in-memory store actually does.
struct PlanChangeTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var before: [String]
        var after: [String]
        var restarted: [String]
        var testDescription: String { name }
    }

    static let cards = "count(card_fingerprint, 10m) > 1"
    static let spend = "sum(amount_usd, account_id, 24h) > 1"

    static let cases: [Case] = [
        Case(name: "another window on the card key restarts the card windows",
             before: [cards, spend], after: [cards, spend, "count(card_fingerprint, 1h) > 1"], restarted: ["card_fingerprint"]),
        Case(name: "a first where filter moves the presence bit of amount_usd: the account's sum restarts",
             before: [cards, spend], after: [cards, spend, "count(device_id, 1h, where channel == \"ecom\") > 1"], restarted: ["account_id"]),
        Case(name: "a longer longest window restarts seconds_since_* keys",
             before: ["seconds_since_first(device_id) < 5", cards], after: ["seconds_since_first(device_id) < 5", cards, "count(ip, 7d) > 1"],
             restarted: ["device_id"]),
        Case(name: "dropping a rule restarts nothing (the engine keeps the columns)",
             before: [cards, spend], after: [cards], restarted: []),
        Case(name: "an aggregate on a new key field restarts nothing",
             before: [cards, spend], after: [cards, spend, "count(merchant_id, 1h) > 1"], restarted: []),
        Case(name: "a second numeric field on the account restarts the account only",
             before: [cards, spend], after: [cards, spend, "sum(amount_minor, account_id, 1h) > 1"], restarted: ["account_id"]),
        Case(name: "an edited window is a new aggregate on that key",
             before: [cards, spend], after: ["count(card_fingerprint, 15m) > 1", spend], restarted: ["card_fingerprint"]),
    ]

    static func ruleSet(_ conditions: [String]) throws -> RuleSet {
        try compileRules(conditions.enumerated().map { "rule r\($0.offset): review if \($0.element)" }.joined(separator: "\n"))
    }

    /// The in-memory store's answer: one event under the old plan, then a second with the same keys
    /// under the engine's grown plan; a key field restarted when one of its old features reads
    /// differently than in a store that kept the old plan.
    static func restartedInTheStore(before: FeaturePlan, after: FeaturePlan) -> [String] {
        let grown = before.appending(after)
        let first = sampleEvent { $0.paymentID = "p1" }
        let second = sampleEvent {
            $0.paymentID = "p2"
            $0.occurredAt = EventTime(millisecondsSinceEpoch: first.occurredAt.millisecondsSinceEpoch + 1000)
        }
        let changed = InMemoryFeatureStore(), kept = InMemoryFeatureStore()
        var row: [Double] = [], reference: [Double] = []
        _ = changed.processSync([first], plan: before, mode: .update, into: &row)
        _ = changed.processSync([second], plan: grown, mode: .update, into: &row)
        _ = kept.processSync([first], plan: before, mode: .update, into: &reference)
        _ = kept.processSync([second], plan: before, mode: .update, into: &reference)
        var restarted: [String] = []
        for (column, feature) in before.features.enumerated() where row[column] != reference[column] {
            if !restarted.contains(feature.key.name) { restarted.append(feature.key.name) }
        }
        return restarted
    }

    @Test(arguments: cases)
    func namesTheKeyFieldsWhoseWindowsRestart(_ c: Case) throws {
        let before = try Self.ruleSet(c.before), after = try Self.ruleSet(c.after)
        #expect(after.restartedKeyFields(replacing: before) == c.restarted)
        // The stores agree (order aside: the store's answer is in column order).
        #expect(Set(Self.restartedInTheStore(before: before.featurePlan, after: after.featurePlan)) == Set(c.restarted))
    }

    /// The reload log line names the key fields whose windows restart.
    @Test func theReloadLogLineNamesThem() throws {
        let directory = NSTemporaryDirectory() + "waqiti-plan-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/main.rules"
        try "version \"v1\"\nrule a: review if \(Self.cards) and \(Self.spend)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let log = LogCapture(minimumLevel: .info)
        let logger = log.logger
        let watcher = try RuleSetWatcher(loader: RuleSetLoader(rulesPath: file), logger: logger, metricsFactory: TestMetrics())
        try "version \"v2\"\nrule a: review if \(Self.cards) and \(Self.spend)\nrule b: review if count(card_fingerprint, 1h) > 3\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        guard case .reloaded = watcher.checkNow() else { Issue.record("not reloaded"); return }
        #expect(log.all.last?.level == .notice)
        #expect(log.all.last?.message == "rules reloaded; the windows of card_fingerprint restart (new aggregates change their layout)")
        #expect(log.all.last?.metadata["windows_restarted"] == #"["card_fingerprint"]"#)
        try "version \"v3\"\nrule a: review if \(Self.cards) and \(Self.spend)\n".write(toFile: file, atomically: true, encoding: .utf8)
        guard case .reloaded = watcher.checkNow() else { Issue.record("not reloaded"); return }
        #expect(log.all.last.map { "\($0.level) \($0.message)" } == "info rules reloaded")
        #expect(log.all.last?.metadata["windows_restarted"] == nil)
    }
}
