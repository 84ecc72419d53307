import Engine
import Hummingbird
import Logging
import Prometheus
import Server
import ServiceLifecycle

/// Runs one of the platform services: the PostgreSQL pool, the migrations, then the HTTP server
/// and the service's background loops in one `ServiceGroup` that shuts down gracefully on
/// SIGTERM/SIGINT (HTTP stops accepting, consumers finish their batch, the pool drains last).
public enum ServiceHost {
    /// What a service adds to the shared host: its routes and its long-running loops.
    public struct Parts {
        public var services: [any Service]
        public var healthChecks: [String: @Sendable () async -> Bool]

        public init(services: [any Service] = [], healthChecks: [String: @Sendable () async -> Bool] = [:]) {
            self.services = services
            self.healthChecks = healthChecks
        }
    }

    public static func run(
        name: String, defaultPort: Int, configuration: ServicesConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        build: @escaping (Database, PrometheusCollectorRegistry, Router<BasicRequestContext>) async throws -> Parts
    ) async throws {
        let database = Database(url: configuration.postgresURL, maximumConnections: configuration.postgresMaxConnections, logger: logger)
        try await database.client.whileRunning {
            let applied = try await Migrator(database: database, migrations: try Migration.bundled()).migrate()
            logger.info("schema ready", metadata: ["applied_migrations": "\(applied)"])

            let registry = PrometheusCollectorRegistry()
            let router = Router(context: BasicRequestContext.self)
            // The engine's scheme: an API key or an HS256 JWT on everything but health, rate-limited
            // per credential; each route checks the caller's scopes.
            if configuration.apiKeys.isEmpty, configuration.jwtSecret == nil {
                logger.warning("neither WAQITI_API_KEYS nor WAQITI_JWT_SECRET is set: every endpoint but health answers 401")
            }
            if let warning = APIKey.legacyWarning(configuration.apiKeys) { logger.warning("\(warning)") }
            if configuration.jwtSecret != nil {
                logger.info("bearer tokens without a scope claim may only score with dry_run=true (scope score), which no service endpoint offers")
            }
            router.add(middleware: AuthenticationMiddleware(
                apiKeys: configuration.apiKeys, jwtSecret: configuration.jwtSecret,
                limiter: RateLimiter(ratePerSecond: configuration.rateLimitPerSecond)))
            let parts = try await build(database, registry, router)
            var checks = parts.healthChecks
            checks["db"] = { await database.isReachable() }
            OperationalRoutes.add(to: router, service: name, registry: registry, checks: checks)

            let app = Application(
                router: router,
                server: HTTPIdleTimeout.http1(configuration.httpIdleTimeout),
                configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort ?? defaultPort), serverName: "waqiti-\(name)"),
                onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
                logger: logger)
            let serviceGroup = ServiceGroup(configuration: .init(
                services: parts.services.map { .init(service: $0) } + [.init(service: app)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
            try await serviceGroup.run()
        }
    }
}
