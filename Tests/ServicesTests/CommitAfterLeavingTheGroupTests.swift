import Kafka
import Prometheus
import Synchronization
import Testing
@testable import Services
import LocalStackSupport

/// A source whose first commit is refused as from a member the group no longer counts, as the
/// broker answers after this member's session timed out; later commits succeed.
final class MemberLeftSource: RecordSource, Sendable {
    private let state = Mutex((batches: [[ConsumedRecord]](), commits: [[Int64]](), refused: false))

    init(batches: [[ConsumedRecord]]) { state.withLock { $0.batches = batches } }

    var commits: [[Int64]] { state.withLock { $0.commits } }

    func poll(maxRecords: Int) async throws -> [ConsumedRecord] {
        let next = state.withLock { $0.batches.isEmpty ? [] : $0.batches.removeFirst() }
        if next.isEmpty { try? await Task.sleep(for: .milliseconds(5)) }
        return next
    }

    func commit(_ records: [ConsumedRecord]) async throws {
        let refuse = state.withLock { state -> Bool in
            state.commits.append(records.map(\.offset))
            defer { state.refused = true }
            return !state.refused
        }
        if refuse { throw KafkaError.operationFailed(operation: "commit", code: KafkaErrorCode(rawValue: 25)) }
    }

    func close() async {}
}

// Needs PostgreSQL (the loop's parking table): runs under scripts/test (WAQITI_INTEGRATION=1).
@Suite("A commit refused after leaving the group", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct CommitAfterLeavingTheGroupTests {
    /// The loop retried such a commit every 5 s for good and never polled again, so it never
    /// rejoined: the quick start's payment service stopped applying decisions after a stall.
    @Test("UNKNOWN_MEMBER_ID on a commit: not retried; the loop polls on and applies and commits the next batch")
    func pollsOnAfterLosingMembership() async throws {
        #expect(KafkaErrorCode(rawValue: 25).name == "UNKNOWN_MEMBER_ID")
        try await TestDatabase.with { database in
            let record = { (offset: Int64) in ConsumedRecord(topic: "t", partition: 0, offset: offset, key: nil, value: [0x7B]) }
            let source = MemberLeftSource(batches: [[record(0), record(1)], [record(2)]])
            let handled = Mutex<[Int64]>([])
            let loop = ConsumerLoop(name: "left-group", source: source, parking: ParkedMessages(database: database),
                                    metrics: ConsumerMetrics(registry: PrometheusCollectorRegistry(), consumer: "left-group"),
                                    initialBackoff: .milliseconds(10), logger: TestDatabase.logger) { records in
                handled.withLock { $0 += records.map(\.offset) }
            }
            let task = Task { try await loop.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while source.commits.count < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(100))
            task.cancel()
            _ = try? await task.value
            #expect(handled.withLock { $0 } == [0, 1, 2])
            // The refused commit was not tried again; the next batch's was made.
            #expect(source.commits == [[0, 1], [2]])
        }
    }
}
