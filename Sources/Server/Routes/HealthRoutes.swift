import Engine
import Hummingbird

/// `/actuator/health` (is anything down?) and `/actuator/health/readiness` (can it take traffic?),
/// Spring-style, each check run live on every request.
struct HealthRoutes<Context: RequestContext>: Sendable {
    let indicators: [HealthIndicator]

    struct Body: Encodable {
        struct Component: Encodable {
            var status: String
            var detail: String
        }
        var status: String
        var components: [String: Component]
    }

    func register(on router: Router<Context>) {
        router.get("/actuator/health") { _, _ in
            let report = await HealthReport.check(indicators)
            return try Response.json(body(report, status: report.status.rawValue), status: report.status == .down ? .serviceUnavailable : .ok)
        }
        router.get("/actuator/health/readiness") { _, _ in
            let report = await HealthReport.check(indicators)
            return try Response.json(body(report, status: report.ready ? "UP" : "DOWN"), status: report.ready ? .ok : .serviceUnavailable)
        }
        router.get("/actuator/health/liveness") { _, _ in
            try Response.json(Body(status: "UP", components: [:]))
        }
    }

    private func body(_ report: HealthReport, status: String) -> Body {
        var components: [String: Body.Component] = [:]
        for component in report.components {
            components[component.name] = .init(status: component.status.rawValue, detail: component.detail)
        }
        return Body(status: status, components: components)
    }
}
