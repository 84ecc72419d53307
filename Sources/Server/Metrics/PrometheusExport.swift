import CoreMetrics
import Hummingbird
import Prometheus

/// The process's Prometheus registry. Creating it bootstraps swift-metrics, once per process and
/// before any metric is made (a metric created earlier would stay a no-op forever).
public enum PrometheusExport {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(factory(for: registry))
        return registry
    }()

    /// A swift-metrics factory registering into `registry`, with buckets sized for the engine's
    /// stages (tests pass it to `EngineMetrics` and `EngineRuntime` to read their own registry).
    public static func factory(for registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Scoring takes microseconds to milliseconds; the default buckets start at 5 ms.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        return factory
    }
}

/// `GET /metrics` in the Prometheus text format.
struct MetricsRoutes<Context: RequestContext>: Sendable {
    let registry: PrometheusCollectorRegistry

    func register(on router: Router<Context>) {
        router.get("/metrics") { _, _ in
            try Caller.require(.metricsRead)
            return Response.json(bytes: registry.emitToBuffer(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }
}
