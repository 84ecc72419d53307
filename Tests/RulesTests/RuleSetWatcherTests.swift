import Foundation
import Logging
import MetricsTestKit
import Synchronization
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

    /// A watcher whose loads call `whileReading` with each file's path after stamping it and before reading it.
    func watcher(_ rules: String = "main.rules", whileReading: @escaping @Sendable (String) -> Void) throws -> RuleSetWatcher {
        try RuleSetWatcher(
            loader: RuleSetLoader(rulesPath: directory + "/" + rules), pollInterval: .milliseconds(500), logger: Logger(label: "test"),
            metricsFactory: TestMetrics(), accept: { _, _ in nil }, whileReading: whileReading)
    }

    /// Written in place and cut mid-way, a rules file may compile (`risk_points >= 80` cut to
    /// `>= 8` made a 10-point review a decline); polling loads it only once its stamp stayed the
    /// same for a whole poll interval.
    @Test func aFileWrittenInPlaceGoesLiveOnlyOnceItHasSettled() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write("main.rules", "version \"v1\"\nrule small: review +10 if amount_usd > 1\n")
        let watcher = try RuleSetWatcher(loader: RuleSetLoader(rulesPath: directory + "/main.rules"), metricsFactory: TestMetrics())
        let full = "version \"v2\"\nrule small: review +10 if amount_usd > 1\nthreshold decline if risk_points >= 80\n"
        let first = String(full.dropLast(2)), rest = String(full.suffix(2))
        #expect(compileErrors(first) == [], "the cut file compiles")

        let handle = try #require(FileHandle(forWritingAtPath: directory + "/main.rules"))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(first.utf8))
        #expect(watcher.poll() == .unchanged)
        #expect(watcher.current.label == "v1")
        try handle.write(contentsOf: Data(rest.utf8))
        try handle.close()
        #expect(watcher.poll() == .unchanged, "changed again since the last poll: still settling")
        #expect(watcher.current.label == "v1")
        guard case .reloaded = watcher.poll() else { Issue.record("the settled file was not loaded"); return }
        #expect(watcher.current.label == "v2")
        #expect(watcher.current.evaluate(event: sampleEvent(), features: []).outcome == .review)
        #expect(watcher.poll() == .unchanged)
    }

    /// A file that changes while a load reads it may have been read half-written: the load is
    /// dropped and the change reloaded once it settles.
    @Test func aLoadDuringWhichAFileChangesIsDropped() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write("lists/blocked.txt", "dev_9\n")
        try write("main.rules", "version \"v1\"\nlist blocked = file(\"lists/blocked.txt\")\nrule blocked_device: decline if device_id in @blocked\n")
        let list = directory + "/lists/blocked.txt"
        let appendOnNextRead = Mutex(false)
        let watcher = try watcher { path in
            guard path == list, appendOnNextRead.withLock({ flag in let was = flag; flag = false; return was }) else { return }
            let handle = FileHandle(forWritingAtPath: path)!
            handle.seekToEndOfFile()
            handle.write(Data("dev_1\n".utf8))
            handle.closeFile()
        }
        try write("main.rules", "version \"v2\"\nlist blocked = file(\"lists/blocked.txt\")\nrule blocked_device: decline if device_id in @blocked\n")
        #expect(watcher.poll() == .unchanged, "settling")
        appendOnNextRead.withLock { $0 = true }
        #expect(watcher.poll() == .unchanged, "the list changed while it was read: the load is dropped")
        #expect(watcher.current.label == "v1")
        #expect(watcher.poll() == .unchanged, "settling")
        guard case .reloaded = watcher.poll() else { Issue.record("the settled change was not loaded"); return }
        #expect(watcher.current.label == "v2")
        #expect(watcher.current.evaluate(event: sampleEvent(), features: []).outcome == .decline)
    }

    /// The initial load stamps each file before reading it: a change made after a file was read
    /// (here the rules file, while the list is read) is reloaded by the first check, not missed.
    @Test func aChangeDuringTheInitialLoadIsSeenByTheFirstCheck() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write("lists/blocked.txt", "dev_9\n")
        try write("main.rules", "version \"v1\"\nlist blocked = file(\"lists/blocked.txt\")\nrule blocked_device: decline if device_id in @blocked\n")
        let list = directory + "/lists/blocked.txt"
        let rulesFile = directory + "/main.rules"
        let rewrite = Mutex(true)
        let watcher = try watcher { path in
            guard path == list, rewrite.withLock({ flag in let was = flag; flag = false; return was }) else { return }
            try? "version \"v2\"\nrule a: review if true\n".write(toFile: rulesFile, atomically: true, encoding: .utf8)
        }
        #expect(watcher.current.label == "v1")
        guard case .reloaded = watcher.checkNow() else { Issue.record("the change made during the initial load was missed"); return }
        #expect(watcher.current.label == "v2")
    }

    /// After a rejected reload the watcher watches the files the rejected set read, so a list file
    /// named only by the new rules reloads them when it appears.
    @Test func aListFileNamedOnlyByARejectedSetIsWatched() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write("main.rules", "version \"v1\"\nrule a: review if true\n")
        let watcher = try RuleSetWatcher(loader: RuleSetLoader(rulesPath: directory + "/main.rules"), metricsFactory: TestMetrics())
        try write("main.rules", "version \"v2\"\nlist fresh = file(\"lists/fresh.txt\")\nrule fresh_device: decline if device_id in @fresh\n")
        #expect(watcher.checkNow() == .rejected(errors: ["\(directory)/main.rules:2:19: cannot read list file 'lists/fresh.txt': no such file"]))
        #expect(watcher.checkNow() == .unchanged)
        try write("lists/fresh.txt", "dev_1\n")
        guard case .reloaded(let version) = watcher.checkNow() else { Issue.record("the new list file did not reload the rules"); return }
        #expect(version.hasPrefix("v2+"))
        #expect(watcher.current.evaluate(event: sampleEvent(), features: []).outcome == .decline)
    }
}
