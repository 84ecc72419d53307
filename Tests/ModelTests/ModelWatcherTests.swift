import Features
import Foundation
import LocalStackSupport
import MetricsTestKit
import Synchronization
import Testing
@testable import Model

@Suite(.temporaryFolder) struct ModelWatcherTests {
    final class Events: Sendable {
        let seen = Mutex<[ModelWatcher.Event]>([])
    }

    @Test func reloadsGoodFilesAndKeepsTheLastGoodModelOnABadOne() throws {
        let path = TemporaryFolder.current.path("model.json")
        try ModelFileEncoder.encode(Fixtures.model).write(toFile: path, atomically: true, encoding: .utf8)

        let events = Events()
        let metrics = TestMetrics()
        let watcher = try ModelWatcher(path: path, basePlan: FeaturePlan(), metricsFactory: metrics) { event in events.seen.withLock { $0.append(event) } }
        #expect(try metrics.expectGauge("waqiti_model_info", [("model_version", Fixtures.model.version)]).lastValue == 1)
        #expect(watcher.current.model == Fixtures.model)
        #expect(watcher.poll() == nil)

        try "{\"format_version\": 1".write(toFile: path, atomically: true, encoding: .utf8)
        guard case .rejected(let error) = watcher.poll() else { Issue.record("a truncated file was not rejected"); return }
        #expect(error.description.hasPrefix("\(path): not valid JSON"))
        #expect(watcher.current.model == Fixtures.model)
        #expect(watcher.reloadFailures == 1)
        #expect(watcher.poll() == nil, "the same bad file is reported once")
        #expect(try metrics.expectCounter("waqiti_model_reload_failures_total").totalValue == 1)

        var next = Fixtures.model
        next.bias = -3.5
        try ModelFileEncoder.encode(next).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(watcher.poll() == .reloaded(version: next.version))
        #expect(watcher.current.model.bias == -3.5)
        #expect(watcher.reloads == 1)
        #expect(watcher.reloadFailures == 1)
        #expect(events.seen.withLock { $0.count } == 2)
        #expect(try metrics.expectCounter("waqiti_model_reloads_total").totalValue == 1)
        #expect(try metrics.expectCounter("waqiti_model_reload_failures_total").totalValue == 1)
        #expect(try metrics.expectGauge("waqiti_model_info", [("model_version", next.version)]).lastValue == 1)
        #expect(throws: (any Error).self, "the previous version's info series is destroyed") {
            try metrics.expectGauge("waqiti_model_info", [("model_version", Fixtures.model.version)])
        }
    }
}
