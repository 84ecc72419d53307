import FraudCore
import Foundation
import Kafka
import Logging
import PostgresNIO
import Prometheus
import Testing
@testable import Services
import LocalStackSupport

/// A topic of its own on the local broker, and ConsumerLoops run over it until a group committed
/// an expected offset.
struct LoopBench: Sendable {
    let topic: String
    let brokers: String
    let messaging: KafkaMessaging
    let run = UInt32.random(in: 0...UInt32.max)

    init(_ label: String) throws {
        brokers = try Integration.brokers
        topic = "services-test-\(label)-\(run)"
        messaging = KafkaMessaging(brokers: brokers, logger: TestDatabase.logger)
        #expect(try KafkaAdmin(configuration: KafkaClientConfiguration(brokers: brokers, clientID: "services-tests")).createTopic(topic, partitions: 1))
    }

    func publish(_ records: [(key: String, value: [UInt8])]) async throws {
        let publisher = try messaging.publisher()
        try await publisher.publish(records.map { OutgoingRecord(topic: topic, key: $0.key, value: $0.value) })
    }

    func group(_ name: String) -> String { "services-test-\(name)-\(run)" }

    /// The group's committed offset on partition 0, read by a client that does not join it, on a
    /// thread of its own: librdkafka's calls block, and with the cooperative pool two threads
    /// wide, two of them at once stalled every loop and query of the suite.
    func committed(_ group: String) async throws -> Int64? {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try committedNow(group) }) }
        }
    }

    private func committedNow(_ group: String) throws -> Int64? {
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: KafkaClientConfiguration(brokers: brokers, clientID: "services-tests"), groupID: group), logger: TestDatabase.logger)
        defer { consumer.close() }
        return try consumer.committed([KafkaTopicPartition(topic: topic, partition: 0)])[KafkaTopicPartition(topic: topic, partition: 0)]
    }

    /// A ledger whose wallet `acc-<p>` holds 1,000 for each of the payments `<p>0`, `<p>1` …
    /// (merchant `m-<p>`) out of `funds` topped up.
    static func ledger(_ p: String, funds: Int64, holds count: Int, in database: Database) async throws -> WalletLedger {
        let ledger = WalletLedger(database: database)
        try await ledger.topUp(walletID: "acc-\(p)", amount: Money(minorUnits: funds, currency: .usd), reference: "t")
        for i in 0..<count {
            try await ledger.hold(HoldRequest(paymentID: "\(p)\(i)", walletID: "acc-\(p)", merchantID: "m-\(p)", amount: Money(minorUnits: 1_000, currency: .usd)))
        }
        return ledger
    }

    /// The wallet's consumer, reading decisions from this bench's topic.
    func settlement(_ ledger: WalletLedger) -> SettlementConsumer {
        SettlementConsumer(ledger: ledger, metrics: WalletMetrics(registry: PrometheusCollectorRegistry()),
                           decisionsTopic: topic, reviewsTopic: "unused-\(run)", logger: TestDatabase.logger)
    }

    /// A ConsumerLoop named `consumer` in `group`, with 10 ms first backoff.
    func loop(_ consumer: String, group: String, database: Database, registry: PrometheusCollectorRegistry, limit: Int = 3,
              logger: Logger = TestDatabase.logger, handle: @escaping @Sendable ([ConsumedRecord]) async throws -> Void) throws -> ConsumerLoop {
        ConsumerLoop(name: consumer, source: try messaging.source(groupID: self.group(group), topics: [topic]),
                     parking: ParkedMessages(database: database), metrics: ConsumerMetrics(registry: registry, consumer: consumer),
                     unclassifiedFailureLimit: limit, initialBackoff: .milliseconds(10), logger: logger, handle: handle)
    }

    /// Runs `loop` until `until` holds (checked every 100 ms, for at most 60 s), then stops it.
    func run(_ loop: ConsumerLoop, until: @Sendable () async throws -> Bool) async throws {
        let task = Task { try await loop.run() }
        defer { task.cancel() }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if try await until() { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        task.cancel()
        try await task.value
    }

    /// Runs `loop` until its group committed `offset`; returns what it committed.
    func run(_ loop: ConsumerLoop, group: String, untilCommitted offset: Int64) async throws -> Int64? {
        try await run(loop) { try await committed(self.group(group)) == offset }
        return try await committed(self.group(group))
    }
}

struct ParkedRow: Equatable {
    var consumer: String, topic: String, partition: Int32, offset: Int64, key: [UInt8]?, payload: [UInt8]
    var failure: String, sqlState: String?, error: String
}

enum Parked {
    static func rows(in database: Database) async throws -> [ParkedRow] {
        try await ParkedMessages(database: database).list(unresolvedOnly: false).map {
            ParkedRow(consumer: $0.consumer, topic: $0.topic, partition: $0.partition, offset: $0.offset, key: $0.key, payload: $0.payload,
                      failure: $0.failure.rawValue, sqlState: $0.sqlState, error: $0.error)
        }
    }

    static func metric(_ registry: PrometheusCollectorRegistry) -> String {
        var text: [UInt8] = []
        registry.emit(into: &text)
        return String(decoding: text, as: UTF8.self)
    }
}

extension Platform {
    /// `decisionRecord`'s bytes with one more member first, which the decoder skips as unknown.
    static func decisionBytes(_ paymentID: String, _ outcome: Outcome, offset: Int64, extra: String) -> [UInt8] {
        let plain = decisionRecord(paymentID, outcome, offset: offset).value
        return Array("{\(extra),".utf8) + plain.dropFirst()
    }
}

// Needs PostgreSQL and the Kafka-protocol broker: runs under scripts/test (WAQITI_INTEGRATION=1).
// Serialized: each test runs consumer loops whose polls block a thread of the cooperative pool
// for up to 100 ms, and the pool is as wide as the machine's two cores.
@Suite("Poison records are parked, not retried for ever", .serialized, .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct PoisonRecordTests {
    /// A decision PostgreSQL refuses to store (an unknown member holding \u0000, which jsonb
    /// cannot represent: 22P05) among four good ones: before, the payment consumer retried the
    /// batch for ever and every later decision waited behind it.
    @Test func thePaymentConsumerAppliesTheGoodDecisionsOnceAndParksTheOneTheDatabaseRefuses() async throws {
        try await Platform.with { platform in
            try await platform.ledger.topUp(walletID: "acc-x", amount: Money(minorUnits: 10_000, currency: .usd), reference: "t")
            var ids: [String] = []
            for i in 0..<5 {
                let created = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-x", amount: 1_000),
                                                               headers: ["Idempotency-Key": "x\(i)"])
                ids.append(try #require(created.string("payment_id")))
            }
            let poison = Platform.decisionBytes(ids[2], .approve, offset: 2, extra: #""trace":"a\u0000b""#)
            let bench = try LoopBench("payment-poison")
            try await bench.publish((0..<5).map { i in
                (ids[i], i == 2 ? poison : Platform.decisionRecord(ids[i], i == 4 ? .decline : .approve, offset: Int64(i)).value)
            })
            let registry = PrometheusCollectorRegistry()
            let first = try bench.loop("payment-decisions", group: "payment", database: platform.database, registry: registry,
                                       handle: platform.paymentConsumer.handle)
            #expect(try await bench.run(first, group: "payment", untilCommitted: 5) == 5)

            func statuses() async throws -> [String?] {
                var result: [String?] = []
                for id in ids { result.append(try await platform.payments.get("/api/v1/payments/\(id)").string("status")) }
                return result
            }
            #expect(try await statuses() == ["approved", "approved", "pending", "approved", "declined"])
            let parked = ParkedRow(consumer: "payment-decisions", topic: bench.topic, partition: 0, offset: 2, key: Array(ids[2].utf8),
                                   payload: poison, failure: "refused", sqlState: "22P05",
                                   error: "unsupported Unicode escape sequence; \\u0000 cannot be converted to text.")
            #expect(try await Parked.rows(in: platform.database) == [parked])
            #expect(Parked.metric(registry).contains(#"waqiti_service_messages_parked_total{consumer="payment-decisions"} 1"#))
            // The payment stays pending with its funds held, and reconciliation says so.
            let report = try await platform.reconciler.report()
            #expect(report.breaks.first { $0.kind == .pendingWithoutDecision }?.examples == [ids[2]])
            #expect(report.count(.pendingWithoutDecision) == 1)

            // The whole topic again, as after a crash between parking and the offset commit: the
            // decided payments do not change, and the poison record is not parked a second time.
            let decidedAt = try await TestDatabase.scalar(
                "SELECT string_agg(payment_id || ' ' || decided_at::text, ',' ORDER BY payment_id) FROM payments.payments",
                as: String.self, in: platform.database)
            let again = PrometheusCollectorRegistry()
            let second = try bench.loop("payment-decisions", group: "payment-again", database: platform.database, registry: again,
                                        handle: platform.paymentConsumer.handle)
            #expect(try await bench.run(second, group: "payment-again", untilCommitted: 5) == 5)
            #expect(try await statuses() == ["approved", "approved", "pending", "approved", "declined"])
            #expect(try await TestDatabase.scalar(
                "SELECT string_agg(payment_id || ' ' || decided_at::text, ',' ORDER BY payment_id) FROM payments.payments",
                as: String.self, in: platform.database) == decidedAt)
            #expect(try await Parked.rows(in: platform.database) == [parked])
            #expect(Parked.metric(again).contains(#"waqiti_service_messages_parked_total{consumer="payment-decisions"} 0"#))
        }
    }

    /// Among good decisions for the wallet: bytes that are not a decision (undecodable) and a
    /// decision whose payment id holds a NUL, which PostgreSQL's text refuses (22021). Money moves
    /// for exactly the good ones, both bad ones are parked, and the group commits past them.
    @Test func theWalletSettlesTheGoodDecisionsAndParksTheUndecodableAndTheRefusedOne() async throws {
        try await TestDatabase.with { database in
            let ledger = try await LoopBench.ledger("w", funds: 10_000, holds: 5, in: database)
            let garbage = Array(#"{"payment_id":"w4","decision":"#.utf8)
            let nul = Platform.decisionRecord("w\u{0}x", .approve, offset: 3).value
            let bench = try LoopBench("wallet-poison")
            try await bench.publish([
                ("w0", Platform.decisionRecord("w0", .approve, offset: 0).value), ("w4", garbage),
                ("w1", Platform.decisionRecord("w1", .approve, offset: 2).value), ("w\u{0}x", nul),
                ("w2", Platform.decisionRecord("w2", .decline, offset: 4).value), ("w3", Platform.decisionRecord("w3", .approve, offset: 5).value),
            ])
            let consumer = bench.settlement(ledger)
            let registry = PrometheusCollectorRegistry()
            let loop = try bench.loop("wallet-settlement", group: "wallet", database: database, registry: registry, handle: consumer.handle)
            #expect(try await bench.run(loop, group: "wallet", untilCommitted: 6) == 6)

            #expect(try await TestDatabase.scalar("SELECT string_agg(payment_id || ' ' || status, ',' ORDER BY payment_id) FROM wallet.holds",
                                                  as: String.self, in: database) == "w0 captured,w1 captured,w2 released,w3 captured,w4 held")
            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM wallet.journal WHERE kind = 'capture'", as: Int64.self, in: database) == 3)
            #expect(try await WalletLedgerTests.merchantBalance("m-w", in: database) == 3_000)
            #expect(try await ledger.view(walletID: "acc-w")?.balances == [.init(currency: "USD", availableMinor: 6_000, heldMinor: 1_000)])
            #expect(try await WalletLedgerTests.ledgerTotal(in: database) == 0)

            var decodingError = ""
            do { _ = try DecisionEnvelope(decoding: garbage) } catch { decodingError = "\(error)" }
            #expect(!decodingError.isEmpty)
            #expect(try await Parked.rows(in: database) == [
                ParkedRow(consumer: "wallet-settlement", topic: bench.topic, partition: 0, offset: 1, key: Array("w4".utf8), payload: garbage,
                          failure: "undecodable", sqlState: nil, error: "not a decision: \(decodingError)"),
                ParkedRow(consumer: "wallet-settlement", topic: bench.topic, partition: 0, offset: 3, key: Array("w\u{0}x".utf8), payload: nul,
                          failure: "refused", sqlState: "22021", error: "invalid byte sequence for encoding \"UTF8\": 0x00"),
            ])
            #expect(Parked.metric(registry).contains(#"waqiti_service_messages_parked_total{consumer="wallet-settlement"} 2"#))
        }
    }

    /// The database failing with a transient SQLSTATE (raised by a trigger on the wallet's
    /// applied instructions while a flag row exists) is retried, not parked: nothing is committed
    /// while it lasts, and once it clears the same batch is applied.
    @Test("a transient failure is retried, not parked", arguments: ["40001", "40P01", "57P01", "53300"])
    func transientFailure(_ sqlState: String) async throws {
        try await TestDatabase.with { database in
            let ledger = try await LoopBench.ledger("t", funds: 5_000, holds: 2, in: database)
            for statement in [
                "CREATE TABLE public.outage (since TIMESTAMPTZ)",
                "INSERT INTO public.outage VALUES (now())",
                // nextval is not rolled back with the failing transaction: it counts the attempts.
                "CREATE SEQUENCE public.failed_attempts",
                """
                CREATE FUNCTION public.fail_while_outage() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF EXISTS (SELECT 1 FROM public.outage) THEN
                        PERFORM nextval('public.failed_attempts');
                        RAISE EXCEPTION 'simulated outage' USING ERRCODE = '\(sqlState)';
                    END IF;
                    RETURN NEW;
                END $$
                """,
                "CREATE TRIGGER outage BEFORE INSERT ON wallet.applied_instructions FOR EACH ROW EXECUTE FUNCTION public.fail_while_outage()",
            ] {
                try await database.client.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger)
            }
            let bench = try LoopBench("wallet-transient")
            try await bench.publish((0..<2).map { ("t\($0)", Platform.decisionRecord("t\($0)", .approve, offset: Int64($0)).value) })
            let consumer = bench.settlement(ledger)
            let registry = PrometheusCollectorRegistry()
            let attempts = { @Sendable in
                try await TestDatabase.scalar("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.failed_attempts",
                                              as: Int64.self, in: database) ?? 0
            }
            // Well past the limit for unclassified failures (3 here): transient ones have none.
            try await bench.run(try bench.loop("wallet-settlement", group: "wallet", database: database, registry: registry,
                                               handle: consumer.handle)) { try await attempts() >= 8 }
            #expect(try await bench.committed(bench.group("wallet")) == nil)
            #expect(try await Parked.rows(in: database) == [])
            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM wallet.holds WHERE status = 'held'", as: Int64.self, in: database) == 2)

            try await database.client.query("DELETE FROM public.outage", logger: TestDatabase.logger)
            let resumed = try bench.loop("wallet-settlement", group: "wallet", database: database, registry: registry, handle: consumer.handle)
            #expect(try await bench.run(resumed, group: "wallet", untilCommitted: 2) == 2)
            #expect(try await TestDatabase.scalar("SELECT string_agg(payment_id || ' ' || status, ',' ORDER BY payment_id) FROM wallet.holds",
                                                  as: String.self, in: database) == "t0 captured,t1 captured")
            #expect(try await Parked.rows(in: database) == [])
            let failed = try await attempts()
            #expect(Parked.metric(registry).contains(#"waqiti_service_consumer_failures_total{consumer="wallet-settlement",kind="transient"} \#(failed)"#))
            #expect(Parked.metric(registry).contains(#"waqiti_service_messages_parked_total{consumer="wallet-settlement"} 0"#))
        }
    }

    struct Unsettleable: Error, CustomDebugStringConvertible {
        var paymentID: String
        var debugDescription: String { "no settlement rule covers \(paymentID)" }
    }

    /// A failure of no known kind, thrown for one record every time: retried as transient up to
    /// the limit (3), then that record alone is parked as `repeated` and the others are applied.
    @Test func anUnclassifiedFailureRepeatedUpToTheLimitParksOnlyItsRecord() async throws {
        try await TestDatabase.with { database in
            let ledger = try await LoopBench.ledger("u", funds: 5_000, holds: 4, in: database)
            let bench = try LoopBench("wallet-unclassified")
            try await bench.publish((0..<4).map { ("u\($0)", Platform.decisionRecord("u\($0)", .approve, offset: Int64($0)).value) })
            let consumer = bench.settlement(ledger)
            let registry = PrometheusCollectorRegistry()
            let loop = try bench.loop("wallet-settlement", group: "wallet", database: database, registry: registry) { batch in
                if batch.contains(where: { $0.key == Array("u1".utf8) }) { throw Unsettleable(paymentID: "u1") }
                try await consumer.handle(batch)
            }
            #expect(try await bench.run(loop, group: "wallet", untilCommitted: 4) == 4)
            #expect(try await TestDatabase.scalar("SELECT string_agg(payment_id || ' ' || status, ',' ORDER BY payment_id) FROM wallet.holds",
                                                  as: String.self, in: database) == "u0 captured,u1 held,u2 captured,u3 captured")
            let rows = try await Parked.rows(in: database)
            #expect(rows.map(\.offset) == [1])
            #expect(rows.map(\.failure) == ["repeated"])
            #expect(rows.map(\.error) == ["no settlement rule covers u1"])
            #expect(rows.map(\.sqlState) == [nil])
        }
    }

    /// Replay publishes the parked bytes again to their topic with their key and marks the record
    /// replayed, once; resolving by hand needs an unresolved record.
    @Test func aReplayPublishesTheParkedRecordAgainOnceAndMarksIt() async throws {
        try await TestDatabase.with { database in
            let bench = try LoopBench("replay")
            let parked = ParkedMessages(database: database)
            let payload = Platform.decisionRecord("r1", .approve, offset: 7).value
            let original = ConsumedRecord(topic: bench.topic, partition: 0, offset: 7, key: Array("r1".utf8), value: payload)
            #expect(try await parked.park(original, consumer: "payment-decisions", failure: .refused,
                                          cause: ConsumerFailure(kind: .permanent, sqlState: "22P05", message: "m")))
            let other = ConsumedRecord(topic: bench.topic, partition: 0, offset: 8, key: nil, value: [0x7B])
            #expect(try await parked.park(other, consumer: "wallet-settlement", failure: .undecodable,
                                          cause: ConsumerFailure(kind: .permanent, sqlState: nil, message: "not a decision")))
            let ids = try await parked.list().map(\.id)
            #expect(ids.count == 2)

            let replayed = try await parked.replay(id: ids[0], publisher: try bench.messaging.publisher())
            #expect(replayed?.offset == 7)
            let source = try bench.messaging.source(groupID: bench.group("replay-reader"), topics: [bench.topic])
            let records = try await KafkaRedeliveryTests.poll(source, count: 1)
            await source.close()
            #expect(records.map(\.key) == [Array("r1".utf8)])
            #expect(records.map(\.value) == [payload])
            #expect(try await parked.list().map(\.id) == [ids[1]])
            #expect(try await parked.list(unresolvedOnly: false).map(\.resolution) == ["replayed", nil])
            #expect(try await parked.replay(id: ids[0], publisher: try bench.messaging.publisher()) == nil)

            #expect(try await parked.resolve(id: ids[1], resolution: "not a decision; nothing to apply"))
            #expect(try await parked.resolve(id: ids[1], resolution: "again") == false)
            #expect(try await parked.list().isEmpty)
        }
    }

    /// A keyless record goes back keyless, and a key that is not UTF-8 goes back byte for byte: the
    /// replay took the key as text, so a keyless record gained the empty key and bytes that are not
    /// UTF-8 became U+FFFD (another key, so another partition than the payment's other records).
    @Test func aReplayKeepsTheRecordsKeyByteForByte() async throws {
        try await TestDatabase.with { database in
            let bench = try LoopBench("replay-keys")
            let parked = ParkedMessages(database: database)
            let binaryKey: [UInt8] = [0xFF, 0x00, 0x7B]
            for (offset, key) in [(Int64(3), nil), (4, binaryKey)] as [(Int64, [UInt8]?)] {
                let record = ConsumedRecord(topic: bench.topic, partition: 0, offset: offset, key: key, value: Array("v\(offset)".utf8))
                #expect(try await parked.park(record, consumer: "payment-decisions", failure: .undecodable,
                                              cause: ConsumerFailure(kind: .permanent, sqlState: nil, message: "m")))
            }
            let publisher = try bench.messaging.publisher()
            for id in try await parked.list().map(\.id) {
                #expect(try await parked.replay(id: id, publisher: publisher) != nil)
            }
            let source = try bench.messaging.source(groupID: bench.group("replay-keys-reader"), topics: [bench.topic])
            let records = try await KafkaRedeliveryTests.poll(source, count: 2)
            await source.close()
            #expect(records.map(\.value) == [Array("v3".utf8), Array("v4".utf8)])
            #expect(records.map(\.key) == [nil, binaryKey])
        }
    }

    /// A function that raises inside a transaction whose caller does not read its row: PostgreSQL
    /// answers COMMIT with ROLLBACK and no error, which `transaction` reported as success (the
    /// wallet's settlement batch was "applied", its offsets committed, and no money moved).
    @Test func aTransactionThatPostgreSQLRolledBackAtCommitThrows() async throws {
        try await TestDatabase.with { database in
            try await database.client.query("""
                CREATE FUNCTION public.refuse() RETURNS VOID LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$
                """, logger: TestDatabase.logger)
            await #expect(throws: TransactionRolledBack(command: "ROLLBACK")) {
                try await database.transaction { connection in
                    try await connection.query("CREATE TABLE public.written (a INT)", logger: TestDatabase.logger)
                    try await connection.query("SELECT public.refuse()", logger: TestDatabase.logger)
                }
            }
            #expect(try await TestDatabase.scalar("SELECT to_regclass('public.written')::TEXT", as: String?.self, in: database) == .some(nil))
        }
    }

    /// Errors as PostgreSQL raises them, through postgres-nio's PSQLError.
    @Test func realServerErrorsAreClassifiedBySQLState() async throws {
        try await TestDatabase.with { database in
            func failure(_ sql: String) async -> ConsumerFailure? {
                do {
                    _ = try await database.client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).collect()
                    return nil
                } catch {
                    return ConsumerFailure(classifying: error)
                }
            }
            #expect(await failure("SELECT 1 / 0") == ConsumerFailure(kind: .permanent, sqlState: "22012", message: "division by zero"))
            #expect(await failure("SELECT * FROM no_such_table") == ConsumerFailure(
                kind: .transient, sqlState: "42P01", message: "relation \"no_such_table\" does not exist"))
            #expect(await failure("DO $$ BEGIN RAISE EXCEPTION 'retry me' USING ERRCODE = 'serialization_failure'; END $$") == ConsumerFailure(
                kind: .transient, sqlState: "40001", message: "retry me"))
            let terminated = await failure("SELECT pg_terminate_backend(pg_backend_pid())")
            #expect(terminated?.kind == .transient)
        }
    }
}
