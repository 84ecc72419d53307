import FraudCore
import Foundation
import Logging
import PostgresNIO
import Prometheus

/// Records what crosses the topics and compares it with the payment service and the ledger.
///
/// It reads the other services' schemas directly (read-only): the three share one PostgreSQL
/// database, each owning its schema, and reconciliation is the one reader of all of them.
public struct Reconciler: Sendable {
    let database: Database
    let deadline: EventDuration
    let metrics: ReconciliationMetrics?
    var logger: Logger { database.logger }

    public init(database: Database, deadline: EventDuration, metrics: ReconciliationMetrics?) {
        self.database = database
        self.deadline = deadline
        self.metrics = metrics
    }

    // MARK: Recording the topics

    /// Records payment events (idempotent by payment id).
    public func recordPayments(_ events: [PaymentEvent]) async throws {
        guard !events.isEmpty else { return }
        try await database.transaction { connection in
            for event in events {
                let occurred = Date(timeIntervalSince1970: Double(event.occurredAt.millisecondsSinceEpoch) / 1000)
                try await connection.query("""
                    INSERT INTO recon.payment_events (payment_id, account_id, amount_minor, currency, occurred_at)
                    VALUES (\(event.paymentID), \(event.accountID), \(event.amount.minorUnits), \(event.amount.currency.code), \(occurred))
                    ON CONFLICT (payment_id) DO NOTHING
                    """, logger: logger)
            }
        }
    }

    /// Records decisions: a redelivery is one row, a different outcome for the same payment another.
    public func recordDecisions(_ decisions: [DecisionEnvelope]) async throws {
        guard !decisions.isEmpty else { return }
        try await database.transaction { connection in
            for decision in decisions {
                let decided = Date(timeIntervalSince1970: Double(decision.decidedAt.millisecondsSinceEpoch) / 1000)
                try await connection.query("""
                    INSERT INTO recon.decisions (payment_id, outcome, decided_at)
                    VALUES (\(decision.paymentID), \(decision.outcome.rawValue), \(decided))
                    ON CONFLICT (payment_id, outcome) DO NOTHING
                    """, logger: logger)
            }
        }
    }

    // MARK: The report

    /// Runs every check in one repeatable-read snapshot, so the counts agree with each other.
    public func report() async throws -> ReconciliationReport {
        let seconds = Double(deadline.milliseconds) / 1000
        let report = try await database.transaction { connection -> ReconciliationReport in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            func ids(_ query: PostgresQuery) async throws -> (Int, [String]) {
                var count = 0
                var examples: [String] = []
                for try await (id, total) in try await connection.query(query, logger: logger).decode((String, Int64).self) {
                    count = Int(total)
                    if examples.count < ReconciliationReport.exampleLimit { examples.append(id) }
                }
                return (count, examples)
            }
            let limit = ReconciliationReport.exampleLimit
            var breaks: [ReconciliationReport.Break] = []
            func add(_ kind: ReconciliationReport.BreakKind, _ query: PostgresQuery) async throws {
                let (count, examples) = try await ids(query)
                breaks.append(.init(kind: kind, count: count, examples: examples))
            }
            try await add(.paymentWithoutDecision, """
                SELECT p.payment_id, count(*) OVER ()::BIGINT FROM recon.payment_events p
                WHERE p.seen_at <= now() - make_interval(secs => \(seconds))
                  AND NOT EXISTS (SELECT 1 FROM recon.decisions d WHERE d.payment_id = p.payment_id)
                ORDER BY p.payment_id LIMIT \(limit)
                """)
            // Seen from the payment service: an event the engine refuses never reaches
            // recon.payment_events either (this service decodes it the same way), so only the
            // payment's own status shows it waiting for good.
            try await add(.pendingWithoutDecision, """
                SELECT payment_id, count(*) OVER ()::BIGINT FROM payments.payments
                WHERE status = 'pending' AND updated_at <= now() - make_interval(secs => \(seconds))
                ORDER BY payment_id LIMIT \(limit)
                """)
            try await add(.decisionWithoutPayment, """
                SELECT d.payment_id, count(*) OVER ()::BIGINT FROM (SELECT DISTINCT payment_id FROM recon.decisions
                    WHERE seen_at <= now() - make_interval(secs => \(seconds))) d
                WHERE NOT EXISTS (SELECT 1 FROM recon.payment_events p WHERE p.payment_id = d.payment_id)
                ORDER BY d.payment_id LIMIT \(limit)
                """)
            try await add(.conflictingDecisions, """
                SELECT payment_id, count(*) OVER ()::BIGINT FROM recon.decisions
                GROUP BY payment_id HAVING count(*) > 1 ORDER BY payment_id LIMIT \(limit)
                """)
            try await add(.approvedNotCaptured, """
                SELECT p.payment_id, count(*) OVER ()::BIGINT FROM payments.payments p
                LEFT JOIN wallet.holds h ON h.payment_id = p.payment_id
                WHERE p.status = 'approved' AND h.status IS DISTINCT FROM 'captured'
                  AND p.updated_at <= now() - make_interval(secs => \(seconds))
                ORDER BY p.payment_id LIMIT \(limit)
                """)
            // The wallet and the payment service read `fraud-decisions` in separate consumer
            // groups, so the wallet may capture before the payment service applies the approval:
            // a capture is a break only once it is older than the deadline, as an approval is.
            try await add(.capturedNotApproved, """
                SELECT h.payment_id, count(*) OVER ()::BIGINT FROM wallet.holds h
                LEFT JOIN payments.payments p ON p.payment_id = h.payment_id
                WHERE h.status = 'captured' AND p.status IS DISTINCT FROM 'approved'
                  AND h.resolved_at <= now() - make_interval(secs => \(seconds))
                ORDER BY h.payment_id LIMIT \(limit)
                """)
            // Pending and in-review payments are settled by their decision or review, approved
            // ones are `approved_not_captured`'s; any other payment leaves its hold held for good.
            try await add(.heldWithoutOpenPayment, """
                SELECT h.payment_id, count(*) OVER ()::BIGINT FROM wallet.holds h
                LEFT JOIN payments.payments p ON p.payment_id = h.payment_id
                WHERE h.status = 'held' AND h.created_at <= now() - make_interval(secs => \(seconds))
                  AND (p.status IS NULL OR p.status NOT IN ('pending', 'in_review', 'approved'))
                ORDER BY h.payment_id LIMIT \(limit)
                """)
            try await add(.ledgerImbalance, """
                SELECT subject, count(*) OVER ()::BIGINT FROM (
                    SELECT 'currency ' || currency || ' sums to ' || sum(amount_minor) AS subject
                    FROM wallet.entries GROUP BY currency HAVING sum(amount_minor) <> 0
                    UNION ALL
                    SELECT 'journal ' || journal_id || ' sums to ' || sum(amount_minor)
                    FROM wallet.entries GROUP BY journal_id HAVING sum(amount_minor) <> 0
                    UNION ALL
                    SELECT 'account ' || a.id || ' (' || a.wallet_id || ' ' || a.kind || ' ' || a.currency || ') balance '
                           || a.balance_minor || ' but entries sum to ' || coalesce(e.total, 0)
                    FROM wallet.accounts a
                    LEFT JOIN (SELECT account_id, sum(amount_minor) AS total FROM wallet.entries GROUP BY account_id) e
                      ON e.account_id = a.id
                    WHERE a.balance_minor <> coalesce(e.total, 0)
                ) imbalances ORDER BY subject LIMIT \(limit)
                """)
            var settlements: [ReconciliationReport.Settlement] = []
            for try await (day, currency, captures, total) in try await connection.query("""
                SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), currency, count(*)::BIGINT, sum(amount_minor)::BIGINT
                FROM wallet.journal WHERE kind = 'capture' GROUP BY 1, 2 ORDER BY 1, 2
                """, logger: logger).decode((String, String, Int64, Int64).self) {
                settlements.append(.init(day: day, currency: currency, captures: Int(captures), totalMinor: total))
            }
            var seen: (payments: Int64, decisions: Int64) = (0, 0)
            for try await (payments, decisions) in try await connection.query("""
                SELECT (SELECT count(*) FROM recon.payment_events)::BIGINT, (SELECT count(DISTINCT payment_id) FROM recon.decisions)::BIGINT
                """, logger: logger).decode((Int64, Int64).self) {
                seen = (payments, decisions)
            }
            return ReconciliationReport(
                generatedAt: RFC3339.format(WallClock.now()), deadlineSeconds: seconds,
                paymentsSeen: Int(seen.payments), decisionsSeen: Int(seen.decisions),
                totalBreaks: breaks.reduce(0) { $0 + $1.count }, breaks: breaks, settlements: settlements)
        }
        metrics?.record(report)
        return report
    }

    /// Stores a report so its history can be audited.
    public func save(_ report: ReconciliationReport) async throws {
        let json = String(decoding: try JSONBody.encoder.encode(report), as: UTF8.self)
        try await database.client.query("""
            INSERT INTO recon.reports (breaks, report) VALUES (\(report.totalBreaks), \(json)::jsonb)
            """, logger: logger)
    }
}

/// Breaks as gauges (`waqiti_reconciliation_breaks{kind=…}`), refreshed with every report.
public struct ReconciliationMetrics: Sendable {
    let gauges: [ReconciliationReport.BreakKind: Gauge]
    let reports: Counter

    public init(registry: PrometheusCollectorRegistry) {
        gauges = Dictionary(uniqueKeysWithValues: ReconciliationReport.BreakKind.allCases.map {
            ($0, registry.makeGauge(descriptor: .init(metricName: "waqiti_reconciliation_breaks", unitName: "", helpText: "Breaks found by the latest reconciliation report, by kind."), labels: [("kind", $0.rawValue)]))
        })
        reports = registry.makeCounter(descriptor: .init(metricName: "waqiti_reconciliation_reports_total", unitName: "", helpText: "Reconciliation reports produced."))
    }

    func record(_ report: ReconciliationReport) {
        for entry in report.breaks { gauges[entry.kind]?.set(Double(entry.count)) }
        reports.increment()
    }
}
