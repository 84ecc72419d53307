import FraudCore
import Foundation
import PostgresNIO
import Testing
@testable import Services
import LocalStackSupport

// Needs PostgreSQL: runs under scripts/test (WAQITI_INTEGRATION=1).
@Suite("Payment row lock order", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct PaymentLockOrderTests {
    static let count = 600

    /// `count` payments moved to `pending` with their outbox rows, stored in a shuffled order so
    /// that neither a table scan nor the decisions' order matches the id order.
    static func pendingPayments(in database: Database) async throws -> [String] {
        let store = PaymentStore(database: database)
        let ids = (0..<count).map { "pay-l\(String(format: "%04d", $0))" }
        // 337 is prime to `count`, so this visits every id once, far from id order.
        for id in (0..<count).map({ ids[$0 * 337 % count] }) {
            let event = try Platform.request(account: "acc-\(id)", amount: 100)
                .validated(paymentID: id, now: EventTime(millisecondsSinceEpoch: 1_795_000_000_000))
            _ = try await store.insertOrFetch(event, idempotencyKey: "key-\(id)", fingerprint: "f-\(id)")
            let record = OutgoingRecord(topic: "payments", key: event.accountID, value: EventEncoder().encode(event))
            #expect(try await store.markPendingAndEnqueue(id, record: record))
        }
        return ids
    }

    static func waitingOnLocks(in database: Database) async throws -> Int64 {
        try await TestDatabase.scalar("""
            SELECT count(*)::BIGINT FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
            """, as: Int64.self, in: database) ?? 0
    }

    /// The quick start's payment service logged deadlocks (40P01) between the two statements that
    /// lock many payment rows at once: applying a batch of decisions and the outbox relay's
    /// `published_at` marks. Each locked rows in its own plan's order, so two batches over the
    /// same payments could each hold a row the other wanted. Here both start while a third
    /// transaction holds the middle payment, so each takes what locks it can and then waits; when
    /// the middle is released, rows taken in two different orders would form a cycle, and
    /// PostgreSQL would abort one of them after `deadlock_timeout`.
    @Test func decisionsAndOutboxMarksOverTheSamePaymentsLockInOneOrderAndBothApply() async throws {
        try await TestDatabase.with { database in
            let ids = try await Self.pendingPayments(in: database)
            let middle = ids[ids.count / 2]
            let (release, releaser) = AsyncStream<Void>.makeStream()
            let (locked, lockedSignal) = AsyncStream<Void>.makeStream()

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await database.transaction { connection in
                        try await connection.query("SELECT 1 FROM payments.payments WHERE payment_id = \(middle) FOR UPDATE",
                                                   logger: TestDatabase.logger)
                        lockedSignal.yield()
                        for await _ in release { break }
                    }
                }
                for await _ in locked { break }

                let published = PublishedRecords()
                group.addTask {
                    let sent = try await OutboxRelay(database: database, publisher: published, batchSize: Self.count).relayBatch()
                    #expect(sent == Self.count)
                }
                // Descending: the order a consumer might see them in, and not the id order.
                let decisions = try ids.reversed().enumerated().map { offset, id in
                    try DecisionEnvelope(decoding: Platform.decisionRecord(id, offset % 3 == 0 ? .decline : .approve, offset: Int64(offset)).value)
                }
                group.addTask {
                    let latencies = try await PaymentStore(database: database).applyDecisions(decisions)
                    #expect(latencies.count == Self.count)
                }

                // Both batches are blocked (on the middle row, or on each other) before it is released.
                let deadline = ContinuousClock.now + .seconds(30)
                while try await Self.waitingOnLocks(in: database) < 2 {
                    try #require(ContinuousClock.now < deadline, "the relay and the decisions batch never both waited on a row lock")
                    try await Task.sleep(for: .milliseconds(20))
                }
                releaser.yield()
                do { try await group.waitForAll() } catch {
                    Issue.record("\(String(reflecting: error))")
                    throw error
                }
            }

            #expect(try await OutboxRelayTests.count("payments.payments WHERE published_at IS NOT NULL", in: database) == Int64(Self.count))
            #expect(try await OutboxRelayTests.count("payments.outbox WHERE sent_at IS NULL", in: database) == 0)
            #expect(try await OutboxRelayTests.count("payments.payments WHERE status = 'declined'", in: database) == Int64(Self.count / 3))
            #expect(try await OutboxRelayTests.count("payments.payments WHERE status = 'approved'", in: database) == Int64(Self.count - Self.count / 3))
        }
    }
}
