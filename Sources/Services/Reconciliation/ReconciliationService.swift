import FraudCore
import Hummingbird
import Server
import Logging
import ServiceLifecycle

/// The reconciliation service's consumer: `payments` and `fraud-decisions` records into its tables.
public struct TopicRecorder: Sendable {
    let reconciler: Reconciler
    let paymentsTopic: String
    let logger: Logger

    public init(reconciler: Reconciler, paymentsTopic: String, logger: Logger) {
        self.reconciler = reconciler
        self.paymentsTopic = paymentsTopic
        self.logger = logger
    }

    public func handle(_ batch: [ConsumedRecord]) async throws {
        var payments: [PaymentEvent] = []
        var decisions: [DecisionEnvelope] = []
        var refusals: [UndecodableRecords.Refusal] = []
        for record in batch {
            do {
                if record.topic == paymentsTopic {
                    payments.append(try EventDecoder().decode(record.value))
                } else {
                    decisions.append(try DecisionEnvelope(decoding: record.value))
                }
            } catch {
                refusals.append(.init(record: record, reason: record.topic == paymentsTopic ? "not a payment event: \(error)" : "not a decision: \(error)"))
            }
        }
        guard refusals.isEmpty else { throw UndecodableRecords(refusals) }
        try await reconciler.recordPayments(payments)
        try await reconciler.recordDecisions(decisions)
    }
}

/// Writes a report every `interval` (into `recon.reports` and the log) until shutdown.
public struct ReportScheduler: Service {
    let reconciler: Reconciler
    let interval: EventDuration
    let logger: Logger

    public init(reconciler: Reconciler, interval: EventDuration, logger: Logger) {
        self.reconciler = reconciler
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(interval.milliseconds))
            } catch {
                return
            }
            do {
                let report = try await reconciler.report()
                try await reconciler.save(report)
                let level: Logger.Level = report.totalBreaks == 0 ? .info : .warning
                logger.log(level: level, "reconciliation report", metadata: [
                    "breaks": "\(report.totalBreaks)", "payments": "\(report.paymentsSeen)", "decisions": "\(report.decisionsSeen)",
                ])
            } catch {
                logger.error("reconciliation report failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// `GET /api/v1/reconciliation/report`: a fresh report (`?save=true` also stores it).
public struct ReconciliationRoutes: Sendable {
    let reconciler: Reconciler

    public init(reconciler: Reconciler) { self.reconciler = reconciler }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/api/v1/reconciliation/report") { request, _ -> Response in
            try Caller.require(.reconciliationRead)
            let report = try await reconciler.report()
            if request.uri.queryParameters.get("save") == "true" { try await reconciler.save(report) }
            return try JSONBody.response(report)
        }
    }
}
