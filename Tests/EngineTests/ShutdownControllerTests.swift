import Engine
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// A service that drains for `drain` on graceful shutdown (forever when nil: a broker that never
/// acknowledges) and stops at once when cancelled.
private final class DrainingService: Service, Sendable {
    let drain: Duration?
    let cancelled = Mutex(false)

    init(drain: Duration?) { self.drain = drain }

    func run() async throws {
        try? await gracefulShutdown()
        do {
            try await Task.sleep(for: drain ?? .seconds(3600))
        } catch {
            cancelled.withLock { $0 = true }
            throw error
        }
    }
}

@Suite("Shutdown of waqiti serve's service group")
struct ShutdownControllerTests {
    private func group(_ service: DrainingService) -> ServiceGroup {
        ServiceGroup(configuration: .init(services: [.init(service: service)], logger: Logger(label: "test")))
    }

    /// Starts `controller.run` on `group`, sends it `signals` one by one, and returns the outcome
    /// and how long it took from the first signal.
    private func shutDown(
        _ controller: ShutdownController, _ group: ServiceGroup, signals: [String], gap: Duration = .milliseconds(100)
    ) async throws -> (ShutdownController.Outcome, Duration) {
        let run = Task { try await controller.run(group, signals: []) }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        for signal in signals {
            controller.received(signal)
            try await Task.sleep(for: gap)
        }
        let outcome = try await run.value
        return (outcome, .now - start)
    }

    @Test("a graceful shutdown that finishes in time completes")
    func completes() async throws {
        let service = DrainingService(drain: .milliseconds(50))
        let (outcome, _) = try await shutDown(ShutdownController(timeout: .seconds(30), logger: Logger(label: "test")), group(service), signals: ["SIGTERM"])
        #expect(outcome == .completed)
        #expect(!service.cancelled.withLock { $0 })
    }

    @Test("a graceful shutdown that does not finish within the timeout is cancelled at the deadline", .timeLimit(.minutes(1)))
    func escalatesAtDeadline() async throws {
        let service = DrainingService(drain: nil)
        let (outcome, took) = try await shutDown(ShutdownController(timeout: .milliseconds(500), logger: Logger(label: "test")), group(service), signals: ["SIGTERM"])
        #expect(outcome == .escalated(reason: "the graceful shutdown did not finish within shutdown.timeout (500ms)"))
        #expect(service.cancelled.withLock { $0 })
        // The upper bound only tells the deadline from the drain's hour: a loaded test run (other
        // suites holding the cooperative pool's threads) has taken 10.9 s here.
        #expect(took >= .milliseconds(500) && took < .seconds(30), "\(took)")
    }

    @Test("a second signal cancels at once, long before the deadline", .timeLimit(.minutes(1)))
    func secondSignalCancels() async throws {
        let service = DrainingService(drain: nil)
        let (outcome, took) = try await shutDown(ShutdownController(timeout: .seconds(300), logger: Logger(label: "test")), group(service), signals: ["SIGTERM", "SIGINT"])
        #expect(outcome == .escalated(reason: "a second SIGINT during the graceful shutdown"))
        #expect(service.cancelled.withLock { $0 })
        #expect(took < .seconds(30), "\(took) against a 300 s deadline")
    }
}
