import Engine
import Foundation
import Testing

/// Probes that all wait for each other: they pass only if every one runs at the same time.
private final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived = 0
    private let parties: Int

    init(parties: Int) { self.parties = parties }

    /// True once every party arrived; false if that took longer than `timeout`.
    func arriveAndWait(timeout: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while arrived < parties {
            if !condition.wait(until: deadline) { return arrived >= parties }
        }
        return true
    }
}

@Suite("Health indicators")
struct HealthTests {
    /// The kernel's name of the calling thread (what `top -H` and `perf` show).
    static func currentThreadName() -> String {
        let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
        return comm.trimmingCharacters(in: .newlines)
    }

    @Test("a blocking probe runs on a thread of its own, named after the indicator")
    func blockingProbeThread() async {
        let indicator = HealthIndicator(name: "kafka", blocking: {
            ComponentHealth(name: "kafka", status: .up, detail: HealthTests.currentThreadName())
        })
        #expect(await indicator.check().detail == "health-kafka")
        // A thread that starts running before its creator returns from start() must be named too:
        // with Foundation's Thread.name setter about 1 start in 90 kept its creator's name.
        let many = (0..<200).map { index in
            HealthIndicator(name: "n\(index)", blocking: {
                ComponentHealth(name: "n\(index)", status: .up, detail: HealthTests.currentThreadName())
            })
        }
        let report = await HealthReport.check(many)
        #expect(report.components.filter { $0.detail != "health-\($0.name)" }.map(\.detail) == [])
    }

    @Test("more blocking probes than the cooperative pool has threads all run at once, so none holds a pool thread")
    func blockingProbesRunTogether() async {
        let parties = 4 * max(2, ProcessInfo.processInfo.activeProcessorCount)
        let barrier = Barrier(parties: parties)
        let indicators = (0..<parties).map { index in
            HealthIndicator(name: "probe-\(index)", blocking: {
                ComponentHealth(name: "probe-\(index)", status: barrier.arriveAndWait(timeout: 30) ? .up : .down, detail: "")
            })
        }
        let report = await HealthReport.check(indicators)
        #expect(report.components.count == parties)
        #expect(report.status == .up)
    }
}
