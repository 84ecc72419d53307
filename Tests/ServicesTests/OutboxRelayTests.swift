import FraudCore
import Foundation
import Kafka
import PostgresNIO
import Testing
@testable import Services
import LocalStackSupport

/// A broker that refuses everything, or that acknowledges and then loses the relay before it
/// marks the rows sent (the crash window the outbox must survive).
struct BrokenBroker: RecordPublisher {
    enum Failure: Error { case refused, crashedAfterAcknowledgement }
    /// When set, records really are published there before the failure is thrown.
    var acknowledgingFirst: (any RecordPublisher)?

    func publish(topic: String, key: String, value: [UInt8]) async throws {
        try await publish([OutgoingRecord(topic: topic, key: key, value: value)])
    }

    func publish(topic: String, rawKey: [UInt8]?, value: [UInt8]) async throws {
        guard let broker = acknowledgingFirst else { throw Failure.refused }
        try await broker.publish(topic: topic, rawKey: rawKey, value: value)
        throw Failure.crashedAfterAcknowledgement
    }

    func publish(_ records: [OutgoingRecord]) async throws {
        guard let broker = acknowledgingFirst else { throw Failure.refused }
        try await broker.publish(records)
        throw Failure.crashedAfterAcknowledgement
    }
}

// Needs PostgreSQL and the Kafka-protocol broker: runs under scripts/test (WAQITI_INTEGRATION=1).
@Suite("Payment outbox relay", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct OutboxRelayTests {
    /// Three payments stored `received`, then moved to `pending` with their outbox rows for `topic`.
    static func enqueueThree(topic: String, in database: Database) async throws -> [OutgoingRecord] {
        let store = PaymentStore(database: database)
        var records: [OutgoingRecord] = []
        for i in 0..<3 {
            let event = try Platform.request(account: "acc-o\(i)", amount: 100 + Int64(i))
                .validated(paymentID: "pay-o\(i)", now: EventTime(millisecondsSinceEpoch: 1_795_000_000_000))
            _ = try await store.insertOrFetch(event, idempotencyKey: "key-o\(i)", fingerprint: "f\(i)")
            let record = OutgoingRecord(topic: topic, key: event.accountID, value: EventEncoder().encode(event))
            #expect(try await store.markPendingAndEnqueue(event.paymentID, record: record))
            records.append(record)
        }
        return records
    }

    static func count(_ condition: String, in database: Database) async throws -> Int64? {
        try await TestDatabase.scalar(PostgresQuery(unsafeSQL: "SELECT count(*)::BIGINT FROM " + condition), as: Int64.self, in: database)
    }

    @Test func aPaymentIsEnqueuedOnceWhateverRetriesDo() async throws {
        try await TestDatabase.with { database in
            let records = try await Self.enqueueThree(topic: "payments", in: database)
            // The retried request finds the payment pending: no second outbox row, no second event.
            #expect(try await PaymentStore(database: database).markPendingAndEnqueue("pay-o0", record: records[0]) == false)
            #expect(try await Self.count("payments.outbox", in: database) == 3)
            #expect(try await Self.count("payments.payments WHERE status = 'pending'", in: database) == 3)
        }
    }

    @Test func unsentRowsSurviveBrokerFailuresAndACrashAndArePublishedAfterTheRestart() async throws {
        try await TestDatabase.with { database in
            let brokers = try Integration.brokers
            let topic = "services-test-outbox-\(UInt32.random(in: 0...UInt32.max))"
            #expect(try KafkaAdmin(configuration: KafkaClientConfiguration(brokers: brokers, clientID: "services-tests")).createTopic(topic, partitions: 1))
            let records = try await Self.enqueueThree(topic: topic, in: database)
            let messaging = KafkaMessaging(brokers: brokers, logger: TestDatabase.logger)
            let kafka = try messaging.publisher()

            // The broker refuses: nothing is marked, every row waits for the retry.
            await #expect(throws: BrokenBroker.Failure.refused) {
                try await OutboxRelay(database: database, publisher: BrokenBroker()).relayBatch()
            }
            #expect(try await Self.count("payments.outbox WHERE sent_at IS NULL", in: database) == 3)

            // The broker acknowledges, then the relay dies before marking: still owed.
            await #expect(throws: BrokenBroker.Failure.crashedAfterAcknowledgement) {
                try await OutboxRelay(database: database, publisher: BrokenBroker(acknowledgingFirst: kafka)).relayBatch()
            }
            #expect(try await Self.count("payments.outbox WHERE sent_at IS NULL", in: database) == 3)
            #expect(try await Self.count("payments.payments WHERE published_at IS NOT NULL", in: database) == 0)

            // A restarted relay republishes them, oldest first, marks them, and then has nothing left.
            let restarted = OutboxRelay(database: database, publisher: try messaging.publisher())
            #expect(try await restarted.relayBatch() == 3)
            #expect(try await restarted.relayBatch() == 0)
            #expect(try await Self.count("payments.outbox WHERE sent_at IS NULL", in: database) == 0)
            #expect(try await Self.count("payments.payments WHERE published_at IS NOT NULL", in: database) == 3)

            // At least once: the crash's copies and the restart's, in order, byte for byte.
            let source = try messaging.source(groupID: "services-test-outbox-\(UInt32.random(in: 0...UInt32.max))", topics: [topic])
            let delivered = try await KafkaRedeliveryTests.poll(source, count: 6)
            await source.close()
            #expect(delivered.count == 6)
            #expect(delivered.map(\.value) == (records + records).map(\.value))
            #expect(delivered.map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["acc-o0", "acc-o1", "acc-o2", "acc-o0", "acc-o1", "acc-o2"])
        }
    }
}
