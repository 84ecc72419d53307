import FraudCore
import Logging
import PostgresNIO
import Prometheus
import ServiceLifecycle

/// Publishes the payment service's outbox (`payments.outbox`, 0005) to the broker.
///
/// Each pass locks up to `batchSize` unsent rows, oldest first (`FOR UPDATE SKIP LOCKED`, so
/// several payment instances relay side by side without publishing a row twice at once), sends
/// them in order, and marks them sent — and their payments `published_at` — in the same
/// transaction, only after the broker acknowledged every one. A broker error or a crash rolls the
/// marks back: the rows are published again on the next pass or start (at least once; the
/// engine de-duplicates by payment id, so each payment is scored once).
public struct OutboxRelay: Service {
    let database: Database
    let publisher: any RecordPublisher
    let batchSize: Int
    /// How long an idle relay waits before looking again: bounds the extra latency a payment
    /// sees between its `pending` answer and its publication.
    let idleInterval: Duration
    let metrics: OutboxMetrics?
    var logger: Logger { database.logger }

    public init(database: Database, publisher: any RecordPublisher, batchSize: Int = 500,
                idleInterval: Duration = .milliseconds(20), metrics: OutboxMetrics? = nil) {
        precondition(batchSize > 0, "the outbox batch size must be positive")
        self.database = database
        self.publisher = publisher
        self.batchSize = batchSize
        self.idleInterval = idleInterval
        self.metrics = metrics
    }

    public func run() async throws {
        var backoff = RetryBackoff()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let sent = try await relayBatch()
                backoff.reset()
                if sent == 0 { try? await Task.sleep(for: idleInterval) }
            } catch {
                let wait = backoff.next()
                metrics?.failures.increment()
                logger.error("outbox publish failed; the rows stay unsent and are retried", metadata: [
                    "error": "\(String(reflecting: error))", "retry_in": "\(wait)",
                ])
                try? await Task.sleep(for: wait)
            }
        }
        logger.info("outbox relay stopped")
    }

    /// One pass: publishes up to `batchSize` unsent rows and marks them sent. Returns how many.
    @discardableResult
    public func relayBatch() async throws -> Int {
        let sent = try await database.transaction { connection -> Int in
            var ids: [Int64] = []
            var payments: [String] = []
            var records: [OutgoingRecord] = []
            for try await (id, payment, topic, key, value) in try await connection.query("""
                SELECT id, payment_id, topic, key, value FROM payments.outbox
                WHERE sent_at IS NULL ORDER BY id LIMIT \(batchSize) FOR UPDATE SKIP LOCKED
                """, logger: logger).decode((Int64, String, String, String, ByteBuffer).self) {
                ids.append(id)
                payments.append(payment)
                records.append(OutgoingRecord(topic: topic, key: key, value: Array(buffer: value)))
            }
            guard !records.isEmpty else { return 0 }
            try await publisher.publish(records)
            try await connection.query("UPDATE payments.outbox SET sent_at = now() WHERE id = ANY(\(ids))", logger: logger)
            // Locked in payment id order, as `PaymentStore.applyDecisions` locks them, so a batch
            // of decisions over the same payments waits for this one instead of deadlocking.
            try await connection.query("""
                WITH locked AS (
                    SELECT payment_id FROM payments.payments WHERE payment_id = ANY(\(payments)) ORDER BY payment_id FOR UPDATE)
                UPDATE payments.payments p SET published_at = coalesce(p.published_at, now())
                FROM locked WHERE p.payment_id = locked.payment_id
                """, logger: logger)
            return records.count
        }
        metrics?.published.increment(by: Int64(sent))
        return sent
    }

    /// Relays until nothing is left unsent (tests, and a shutdown that wants the outbox empty).
    public func drain() async throws {
        while try await relayBatch() > 0 {}
    }
}

/// The relay's counters on the payment service's /metrics.
public struct OutboxMetrics: Sendable {
    let published: Counter
    let failures: Counter

    public init(registry: PrometheusCollectorRegistry) {
        published = registry.makeCounter(descriptor: .init(metricName: "waqiti_payment_outbox_published_total", unitName: "", helpText: "Outbox records the broker acknowledged."))
        failures = registry.makeCounter(descriptor: .init(metricName: "waqiti_payment_outbox_failures_total", unitName: "", helpText: "Outbox passes that failed and were retried (the rows stayed unsent)."))
    }
}
