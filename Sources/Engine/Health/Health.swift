/// The state of one dependency as `/actuator/health` reports it.
public struct ComponentHealth: Sendable, Equatable {
    public enum Status: String, Sendable, Comparable {
        /// Working as configured.
        case up = "UP"
        /// Working with reduced guarantees (e.g. deciding on local windows while Redis is down).
        case degraded = "DEGRADED"
        case down = "DOWN"

        public static func < (lhs: Status, rhs: Status) -> Bool { lhs.rank < rhs.rank }
        private var rank: Int {
            switch self {
            case .up: 0
            case .degraded: 1
            case .down: 2
            }
        }
    }

    public var name: String
    public var status: Status
    /// What the check saw: a version, an address, an error message.
    public var detail: String
    /// Whether the engine cannot take traffic while this component is down.
    public var requiredForReadiness: Bool

    public init(name: String, status: Status, detail: String, requiredForReadiness: Bool = true) {
        self.name = name
        self.status = status
        self.detail = detail
        self.requiredForReadiness = requiredForReadiness
    }
}

/// One health check, run on every health request so the answer is never stale.
public struct HealthIndicator: Sendable {
    public let name: String
    private let probe: @Sendable () async -> ComponentHealth

    public init(name: String, probe: @escaping @Sendable () async -> ComponentHealth) {
        self.name = name
        self.probe = probe
    }

    /// A probe that blocks on its dependency (a broker or Redis round trip with a timeout) runs
    /// on a thread of its own: a dependency that is down would otherwise hold a thread of Swift's
    /// cooperative pool for the whole timeout on every health call.
    public init(name: String, blocking probe: @escaping @Sendable () -> ComponentHealth) {
        self.init(name: name) { await OffPool.run("health-\(name)", probe) }
    }

    public func check() async -> ComponentHealth { await probe() }
}

/// The engine's health: every indicator checked concurrently.
public struct HealthReport: Sendable, Equatable {
    public var components: [ComponentHealth]

    /// DOWN if any component is down, DEGRADED if any is degraded, else UP.
    public var status: ComponentHealth.Status { components.map(\.status).max() ?? .up }

    /// Ready unless a component needed for deciding is down.
    public var ready: Bool { !components.contains { $0.requiredForReadiness && $0.status == .down } }

    public init(components: [ComponentHealth]) { self.components = components }

    public static func check(_ indicators: [HealthIndicator]) async -> HealthReport {
        await withTaskGroup(of: (Int, ComponentHealth).self) { group in
            for (index, indicator) in indicators.enumerated() {
                group.addTask { (index, await indicator.check()) }
            }
            var results: [(Int, ComponentHealth)] = []
            for await result in group { results.append(result) }
            return HealthReport(components: results.sorted { $0.0 < $1.0 }.map(\.1))
        }
    }
}
