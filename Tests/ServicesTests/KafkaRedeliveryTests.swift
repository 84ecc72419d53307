import FraudCore
import Foundation
import Kafka
import Prometheus
import Testing
@testable import Services
import LocalStackSupport

// Needs PostgreSQL and the Kafka-protocol broker: runs under scripts/test (WAQITI_INTEGRATION=1).
@Suite("Wallet settlement through the broker", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct KafkaRedeliveryTests {
    /// Polls until `count` records arrived (a group join can take seconds), failing after 60 s.
    static func poll(_ source: any RecordSource, count: Int) async throws -> [ConsumedRecord] {
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while records.count < count, ContinuousClock.now < deadline {
            records += try await source.poll(maxRecords: count - records.count)
        }
        return records
    }

    @Test func decisionsRedeliveredAfterACrashBeforeTheCommitMoveMoneyOnce() async throws {
        try await TestDatabase.with { database in
            let ledger = WalletLedger(database: database)
            try await ledger.topUp(walletID: "acc-k", amount: Money(minorUnits: 10_000, currency: .usd), reference: "t")
            for i in 0..<5 {
                try await ledger.hold(HoldRequest(paymentID: "k\(i)", walletID: "acc-k", merchantID: "m-k", amount: Money(minorUnits: 1_000, currency: .usd)))
            }
            let run = UInt32.random(in: 0...UInt32.max)
            let topic = "services-test-decisions-\(run)"
            let brokers = try Integration.brokers
            #expect(try KafkaAdmin(configuration: KafkaClientConfiguration(brokers: brokers, clientID: "services-tests")).createTopic(topic, partitions: 1))
            let messaging = KafkaMessaging(brokers: brokers, logger: TestDatabase.logger)
            let publisher = try messaging.publisher()
            for i in 0..<5 {
                let record = Platform.decisionRecord("k\(i)", i == 4 ? .decline : .approve, offset: Int64(i))
                try await publisher.publish(topic: topic, key: "k\(i)", value: record.value)
            }
            let consumer = SettlementConsumer(ledger: ledger, metrics: WalletMetrics(registry: PrometheusCollectorRegistry()),
                                              decisionsTopic: topic, reviewsTopic: "unused-\(run)", logger: TestDatabase.logger)
            let group = "services-test-wallet-\(run)"

            // First member applies the batch, then dies before committing its offsets.
            let first = try messaging.source(groupID: group, topics: [topic])
            let delivered = try await Self.poll(first, count: 5)
            #expect(delivered.map(\.offset) == [0, 1, 2, 3, 4])
            try await consumer.handle(delivered)
            await first.close()

            // Its successor gets the same records again; applying them changes nothing.
            let second = try messaging.source(groupID: group, topics: [topic])
            let redelivered = try await Self.poll(second, count: 5)
            #expect(redelivered.map(\.offset) == [0, 1, 2, 3, 4])
            try await consumer.handle(redelivered)
            try await second.commit(redelivered)
            await second.close()

            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM wallet.journal WHERE kind = 'capture'", as: Int64.self, in: database) == 4)
            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM wallet.journal WHERE kind = 'release'", as: Int64.self, in: database) == 1)
            #expect(try await WalletLedgerTests.merchantBalance("m-k", in: database) == 4_000)
            #expect(try await ledger.view(walletID: "acc-k")?.balances == [.init(currency: "USD", availableMinor: 6_000, heldMinor: 0)])
            #expect(try await WalletLedgerTests.ledgerTotal(in: database) == 0)

            // A third member starts after the commit: nothing is left to redeliver.
            let third = try messaging.source(groupID: group, topics: [topic])
            #expect(try await Self.pollBriefly(third).isEmpty)
            await third.close()
        }
    }

    /// Polls for ~8 s (long enough to join the group) and returns whatever arrived.
    static func pollBriefly(_ source: any RecordSource) async throws -> [ConsumedRecord] {
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now + .seconds(8)
        while ContinuousClock.now < deadline { records += try await source.poll(maxRecords: 100) }
        return records
    }
}
