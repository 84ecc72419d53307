import Foundation
import MetricsTestKit
import Testing
@testable import Rules

/// Hot reload on real files in a temporary directory.
struct RuleSetWatcherTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "waqiti-rules-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/lists", withIntermediateDirectories: true)
    }

    func write(_ path: String, _ text: String) throws {
        try text.write(toFile: directory + "/" + path, atomically: true, encoding: .utf8)
    }

    @Test func reloadsGoodChangesRejectsBrokenOnesAndRecovers() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write("lists/blocked.txt", "dev_9\n")
        try write("main.rules", """
        version "v1"
        list blocked = file("lists/blocked.txt")
        rule blocked_device: decline if device_id in @blocked
        """)
        let metrics = TestMetrics()
        let watcher = try RuleSetWatcher(loader: RuleSetLoader(rulesPath: directory + "/main.rules"), metricsFactory: metrics)
        let first = watcher.current
        #expect(first.label == "v1")
        #expect(first.sourceFiles == [directory + "/main.rules", directory + "/lists/blocked.txt"])
        #expect(first.evaluate(event: sampleEvent(), features: []).outcome == .approve)
        #expect(watcher.checkNow() == .unchanged)

        // A list change alone reloads.
        try write("lists/blocked.txt", "dev_9\ndev_1\n")
        guard case .reloaded(let v1b) = watcher.checkNow() else { Issue.record("list change not reloaded"); return }
        #expect(v1b.hasPrefix("v1+") && v1b != first.version)
        #expect(watcher.current.evaluate(event: sampleEvent(), features: []).outcome == .decline)

        // A broken file is rejected with all its errors; the last good set stays live.
        let inFlight = watcher.current
        try write("main.rules", """
        version "v2"
        list blocked = file("lists/blocked.txt")
        rule blocked_device: decline if devce_id in @blocked
        rule big: review if amount > 500
        """)
        let rejected = watcher.checkNow()
        #expect(rejected == .rejected(errors: [
            "\(directory)/main.rules:3:33: unknown field 'devce_id'; did you mean 'device_id'?",
            "\(directory)/main.rules:4:28: money compares only with money: give the number a currency (e.g. 500.00 USD) or use amount_usd",
        ]))
        #expect(watcher.current.version == v1b)
        #expect(try metrics.expectCounter("waqiti_rules_reload_failures_total").totalValue == 1)
        // The same broken bytes are not retried (nor counted again).
        #expect(watcher.checkNow() == .unchanged)
        #expect(try metrics.expectCounter("waqiti_rules_reload_failures_total").totalValue == 1)

        // Fixed: the new set goes live; a batch holding the old set still evaluates with it.
        try write("main.rules", """
        version "v2"
        list blocked = file("lists/blocked.txt")
        rule blocked_device: decline if device_id in @blocked
        rule big: review if amount > 5.00 USD
        """)
        guard case .reloaded(let v2) = watcher.checkNow() else { Issue.record("fixed file not reloaded"); return }
        #expect(v2.hasPrefix("v2+"))
        #expect(watcher.current.ruleNames == ["blocked_device", "big"])
        #expect(inFlight.ruleNames == ["blocked_device"])
        #expect(try metrics.expectCounter("waqiti_rules_reloads_total").totalValue == 2)
    }

    @Test func pollingPicksUpChangesWhileRunning() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write("main.rules", "rule a: review if true")
        let watcher = try RuleSetWatcher(loader: RuleSetLoader(rulesPath: directory + "/main.rules"), pollInterval: .milliseconds(20), metricsFactory: TestMetrics())
        let task = Task { try await watcher.run() }
        defer { task.cancel() }
        try write("main.rules", "version \"v9\"\nrule a: decline if true")
        var label: String?
        for _ in 0..<250 where label == nil {
            try await Task.sleep(for: .milliseconds(20))
            label = watcher.current.label
        }
        #expect(label == "v9")
    }

    @Test func aBrokenInitialFileIsAnError() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write("main.rules", "rule a: review if nope")
        #expect(throws: RuleSetLoader.LoadError.self) {
            try RuleSetWatcher(loader: RuleSetLoader(rulesPath: directory + "/main.rules"), metricsFactory: TestMetrics())
        }
    }
}
