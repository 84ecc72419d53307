import Logging
import Prometheus

/// How each service is assembled from the shared host; the CLI's `waqiti payment|wallet|reconcile`
/// call these, and so can a test or a single-binary deployment.
public enum PlatformServices {
    /// Wallet (8082): HTTP ledger API, and the settlement consumer of decisions and review outcomes.
    public static func runWallet(configuration: ServicesConfiguration, messaging: any Messaging, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await ServiceHost.run(name: "wallet", defaultPort: 8082, configuration: configuration, logger: logger,
                                  onServerRunning: onServerRunning) { database, registry, router in
            let ledger = WalletLedger(database: database)
            let metrics = WalletMetrics(registry: registry)
            WalletRoutes(ledger: ledger, metrics: metrics).add(to: router)
            let consumer = SettlementConsumer(ledger: ledger, metrics: metrics, decisionsTopic: configuration.decisionsTopic,
                                              reviewsTopic: configuration.reviewsTopic, logger: logger)
            return .init(services: [try consumerLoop(
                "wallet-settlement", group: "wallet", topics: [configuration.decisionsTopic, configuration.reviewsTopic],
                configuration: configuration, messaging: messaging, database: database, registry: registry, logger: logger,
                handle: consumer.handle)])
        }
    }

    /// Payment (8081): the payment API, the outbox relay publishing to `payments`, and the decision consumer.
    public static func runPayment(configuration: ServicesConfiguration, messaging: any Messaging, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await ServiceHost.run(name: "payment", defaultPort: 8081, configuration: configuration, logger: logger,
                                  onServerRunning: onServerRunning) { database, registry, router in
            let store = PaymentStore(database: database)
            let metrics = PaymentMetrics(registry: registry)
            let publisher = try messaging.publisher()
            // One credential for both calls: holds at the wallet, and (when enabled) update-mode
            // scoring at the engine, which enters the windows as the streamed event would.
            let credential = try ServiceCredential(configuration: configuration, subject: "waqiti-payment",
                                                   scopes: configuration.synchronousScoring ? [.walletHold, .scoreUpdate] : [.walletHold])
            let scorer: (any EngineScorer)? = configuration.synchronousScoring
                ? HTTPEngineScorer(baseURL: configuration.engineURL, timeout: .milliseconds(configuration.synchronousScoringTimeout.milliseconds), credential: credential)
                : nil
            if let warning = configuration.occurredAtBounds.warning { logger.warning("\(warning)") }
            let processor = PaymentProcessor(
                store: store, wallet: HTTPWalletClient(baseURL: configuration.walletURL, credential: credential), scorer: scorer,
                paymentsTopic: configuration.paymentsTopic, metrics: metrics, logger: logger, occurredAtBounds: configuration.occurredAtBounds)
            PaymentRoutes(processor: processor, store: store, reviewsTopic: configuration.reviewsTopic).add(to: router)
            let applier = DecisionApplier(store: store, metrics: metrics, logger: logger)
            // Listed first so that it stops last, after the HTTP server stopped adding rows.
            let relay = OutboxRelay(database: database, publisher: publisher, metrics: OutboxMetrics(registry: registry))
            let resumer = PaymentResumer(store: store, processor: processor, logger: logger)
            return .init(services: [relay, resumer, try consumerLoop(
                "payment-decisions", group: "payment", topics: [configuration.decisionsTopic],
                configuration: configuration, messaging: messaging, database: database, registry: registry, logger: logger,
                handle: applier.handle)])
        }
    }

    /// Reconciliation (8084): records both topics, reports on demand and every `report_interval`.
    public static func runReconciliation(configuration: ServicesConfiguration, messaging: any Messaging, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await ServiceHost.run(name: "reconciliation", defaultPort: 8084, configuration: configuration, logger: logger,
                                  onServerRunning: onServerRunning) { database, registry, router in
            let reconciler = Reconciler(database: database, deadline: configuration.decisionDeadline,
                                        metrics: ReconciliationMetrics(registry: registry))
            ReconciliationRoutes(reconciler: reconciler).add(to: router)
            let recorder = TopicRecorder(reconciler: reconciler, paymentsTopic: configuration.paymentsTopic, logger: logger)
            return .init(services: [
                try consumerLoop(
                    "reconciliation-topics", group: "reconciliation", topics: [configuration.paymentsTopic, configuration.decisionsTopic],
                    configuration: configuration, messaging: messaging, database: database, registry: registry, logger: logger,
                    handle: recorder.handle),
                ReportScheduler(reconciler: reconciler, interval: configuration.reportInterval, logger: logger),
            ])
        }
    }

    /// A service's consumer: its own group (`<group_id_prefix>-<group>`), its topics, where it
    /// parks records that can never be applied, the configured limits and fault switch, and the
    /// handler that applies a batch before its offsets commit.
    private static func consumerLoop(
        _ name: String, group: String, topics: [String], configuration: ServicesConfiguration, messaging: any Messaging,
        database: Database, registry: PrometheusCollectorRegistry, logger: Logger,
        handle: @escaping @Sendable ([ConsumedRecord]) async throws -> Void
    ) throws -> ConsumerLoop {
        ConsumerLoop(name: name, source: try messaging.source(groupID: configuration.groupIDPrefix + "-" + group, topics: topics),
                     parking: ParkedMessages(database: database), metrics: ConsumerMetrics(registry: registry, consumer: name),
                     unclassifiedFailureLimit: configuration.unclassifiedFailureLimit,
                     crashBeforeCommitAfterBatches: configuration.crashBeforeCommitAfterBatches, logger: logger, handle: handle)
    }
}
