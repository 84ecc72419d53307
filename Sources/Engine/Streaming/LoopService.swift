import ServiceLifecycle

/// Runs a long-lived loop (a file watcher, a poller) as a service: graceful shutdown cancels it,
/// and the cancellation it then observes is the normal way to end, not an error.
public struct LoopService: Service {
    public let name: String
    private let body: @Sendable () async throws -> Void

    public init(name: String, body: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.body = body
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await body() }
        } catch is CancellationError {
            return
        }
    }
}
