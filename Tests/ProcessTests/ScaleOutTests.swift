import Foundation
import Testing
import LocalStackSupport

/// Issue 6's scale-out acceptance with the real binary: two `waqiti serve` processes in one
/// consumer group share a 6-partition topic through the Redis store. The second joins mid-run
/// and the first leaves (SIGTERM) before the end, so partitions move twice while payments
/// stream; the decisions, window values included, must still be exactly the single-process
/// replay's, with none missing.
@Suite("Engine scale-out: two instances, one consumer group", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct ScaleOutTests {
    static let events = 4_000

    @Test("a second instance joins mid-run and the first leaves: features equal the replay's, nothing lost or counted twice")
    func twoInstancesWithRebalances() async throws {
        let run = try await StreamRunFixture(name: "scaleout", events: Self.events, partitions: 6, redisDatabase: 14)
        let first = try await ServeFixture(name: "scaleout-engine-a", topics: run.topics, environment: run.engineEnvironment)
        let producer = try run.startProducer(rate: 250, name: "scaleout-produce")

        // Join once the first instance is deciding; leave once the second one is too.
        try await run.waitForDecisions(beyond: 0, timeout: .seconds(60))
        try await Task.sleep(for: .seconds(2))
        let second = try await ServeFixture(name: "scaleout-engine-b", topics: run.topics, environment: run.engineEnvironment)
        try await waitUntil(timeout: .seconds(60)) { second.process.standardError().contains("partitions assigned") }
        let publishedWhenBothRan = try run.publishedCount()
        try await run.waitForDecisions(beyond: publishedWhenBothRan + 200, timeout: .seconds(60))
        first.process.terminate()
        #expect(try await first.process.waitForExit(timeout: .seconds(60)) == 0, "first engine stderr ends:\n\(first.process.stderrTail())")

        #expect(try await producer.waitForExit(timeout: .seconds(120)) == 0, "produce: \(producer.stderrTail())")
        let comparison = try run.compareWithOracle(timeout: .seconds(90))
        second.process.terminate()
        #expect(try await second.process.waitForExit(timeout: .seconds(60)) == 0, "second engine stderr ends:\n\(second.process.stderrTail())")

        #expect(run.oracle.decisions.count == Self.events)
        #expect(comparison.missing.count == 0, "payments without a decision: \(comparison.summary)")
        #expect(comparison.unexpected.count == 0, "\(comparison.summary)")
        #expect(comparison.inconsistentCopies.count == 0, "a payment decided twice differently: \(comparison.summary)")
        #expect(comparison.differing.count == 0, "decisions (window values) differ from the single-process replay: \(comparison.summary)")
        #expect(comparison.published >= run.oracle.lines)
    }

    private func waitUntil(timeout: Duration, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw ProcessTestError.timeout("condition not met within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
