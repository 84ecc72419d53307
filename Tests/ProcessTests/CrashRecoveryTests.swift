import Foundation
import Simulation
import Testing
import LocalStackSupport

/// Issue 6's crash acceptance with the real binary: `waqiti serve` (Redis store, so windows
/// outlive the process) is killed with SIGKILL three times while payments stream in, and
/// restarted each time. Every payment must end with a decision, copies of a decision must agree,
/// and every decision must equal the replay's, which holds only if no redelivered payment was
/// counted twice in any window.
@Suite("Engine crash recovery: kill -9 mid-run", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct CrashRecoveryTests {
    static let events = 4_000

    @Test("kill -9 three times at seeded random points: every payment decided once or identically again, decisions equal the replay's")
    func killNineThreeTimes() async throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["WAQITI_CRASH_SEED"] ?? "") ?? UInt64.random(in: 1...999_999)
        var random = SimulationRandom(seed: seed)
        let note = "WAQITI_CRASH_SEED=\(seed) reproduces the kill points"
        let run = try await StreamRunFixture(name: "crash", events: Self.events, partitions: 3, redisDatabase: 13)

        // A backlog first, so each engine starts with batches in flight, then a steady stream
        // that outlasts the three restarts (each waits for the dead member's session to expire).
        let producer = try run.startProducer(rate: 200, name: "crash-produce")
        try await Task.sleep(for: .seconds(2))
        var engine = try await ServeFixture(name: "crash-engine-0", topics: run.topics, environment: run.engineEnvironment)
        var kills: [String] = []
        for restart in 1...3 {
            // Kill at a random instant within 400 ms of this instance's first decision: it is
            // working through the backlog then, with decided batches not yet committed.
            let before = try run.publishedCount()
            try await run.waitForDecisions(beyond: before, timeout: .seconds(60))
            let delay = Int.random(in: 0...400, using: &random)
            try await Task.sleep(for: .milliseconds(delay))
            let publishedAtKill = try run.publishedCount()
            engine.process.kill()
            let status = try await engine.process.waitForExit(timeout: .seconds(30))
            kills.append("kill \(restart): \(delay) ms after deciding, \(publishedAtKill) decisions published, exit \(status)")
            engine = try await ServeFixture(name: "crash-engine-\(restart)", topics: run.topics, environment: run.engineEnvironment)
        }
        #expect(try await producer.waitForExit(timeout: .seconds(120)) == 0, "produce: \(producer.stderrTail())")

        let comparison = try run.compareWithOracle(timeout: .seconds(90))
        engine.process.terminate()
        #expect(try await engine.process.waitForExit(timeout: .seconds(60)) == 0, "engine stderr ends:\n\(engine.process.stderrTail())")

        let context = "\(note); \(kills.joined(separator: "; ")); \(comparison.summary)"
        #expect(kills.count == 3)
        #expect(run.oracle.decisions.count == Self.events, "\(context)")
        #expect(comparison.missing.count == 0, "payments without a decision: \(context)")
        #expect(comparison.unexpected.count == 0, "\(context)")
        #expect(comparison.inconsistentCopies.count == 0, "a payment decided twice differently: \(context)")
        #expect(comparison.differing.count == 0, "decisions (window values) differ from the replay: \(context)")
        // Redeliveries of the input alone make the total exceed the distinct payments.
        #expect(comparison.published >= run.oracle.lines, "\(context)")
    }
}
