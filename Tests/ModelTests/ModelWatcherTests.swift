import Features
import Foundation
import LocalStackSupport
import MetricsTestKit
import Synchronization
import Testing
@testable import Model
#if canImport(Glibc)
import Glibc
#endif

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

    /// A model file replaced by rename with the same size and modification time (a deploy tool that
    /// preserves times, or two writes within one mtime tick) is a new inode: it was missed while
    /// the watcher stamped only the modification time and size.
    @Test func aReplacementWithTheSameSizeAndModificationTimeIsReloaded() throws {
        let path = TemporaryFolder.current.path("model.json")
        let first = ModelFileEncoder.encode(Fixtures.model)
        var next = Fixtures.model
        next.bias = -5
        let second = ModelFileEncoder.encode(next)
        try #require(first.utf8.count == second.utf8.count)
        try first.write(toFile: path, atomically: true, encoding: .utf8)
        let watcher = try ModelWatcher(path: path, basePlan: FeaturePlan(), metricsFactory: TestMetrics())

        // Written beside the original, given its modification time, renamed over it.
        let temporary = path + ".new"
        try second.write(toFile: temporary, atomically: false, encoding: .utf8)
        var original = stat()
        try #require(stat(path, &original) == 0)
        var times = [original.st_atim, original.st_mtim]
        try #require(utimensat(AT_FDCWD, temporary, &times, 0) == 0)
        try #require(rename(temporary, path) == 0)
        var replaced = stat()
        try #require(stat(path, &replaced) == 0)
        #expect(replaced.st_size == original.st_size)
        #expect(replaced.st_mtim.tv_sec == original.st_mtim.tv_sec && replaced.st_mtim.tv_nsec == original.st_mtim.tv_nsec)
        #expect(replaced.st_ino != original.st_ino)

        #expect(watcher.poll() == .reloaded(version: next.version))
        #expect(watcher.current.model.bias == -5)
    }
}
