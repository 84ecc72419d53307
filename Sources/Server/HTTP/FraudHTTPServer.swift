import Engine
import FraudCore
import Hummingbird
import Logging
import Prometheus

/// The engine's HTTP server on 8083: scoring, rules, health and metrics behind authentication.
public enum FraudHTTPServer {
    public typealias App = Application<RouterResponder<BasicRequestContext>>

    /// - Parameters:
    ///   - health: the checks `/actuator/health` runs (Kafka, Redis, rules, model).
    ///   - onServerRunning: called with the bound port once listening (useful with port 0).
    public static func makeApplication(
        engine: DecisionEngine, configuration: EngineConfiguration, health: [HealthIndicator],
        registry: PrometheusCollectorRegistry = PrometheusExport.registry, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> App {
        // HEAD is answered for every GET (RFC 9110 §9.1: general-purpose servers support both).
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: AuthenticationMiddleware(
            apiKeys: configuration.http.apiKeys, jwtSecret: configuration.http.jwtSecret,
            limiter: RateLimiter(ratePerSecond: configuration.http.rateLimitPerSecond)
        ))
        ScoreRoutes(
            engine: engine,
            decoder: EventDecoder(limits: EventDecodingLimits(maxEventBytes: configuration.kafka.maxMessageBytes)),
            futureGuard: FutureEventGuard(maxSkew: configuration.features.maxClockSkew),
            encoder: DecisionEncoder(),
            maxRequestBytes: configuration.http.maxRequestBytes,
            maxBatchEvents: configuration.http.maxBatchEvents
        ).register(on: router)
        RulesRoutes(engine: engine).register(on: router)
        HealthRoutes(indicators: health).register(on: router)
        MetricsRoutes(registry: registry).register(on: router)
        // Last, so that it wraps only what no route matched (404, or 405 naming the methods).
        router.add(middleware: UnmatchedRouteMiddleware(routes: router.routes))
        return Application(
            router: router,
            server: HTTPIdleTimeout.http1(.milliseconds(configuration.http.idleTimeout.milliseconds)),
            configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "waqiti"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.http.port) },
            logger: logger
        )
    }
}
