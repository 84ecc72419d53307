import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs `waqiti serve`'s service group and turns signals into a bounded shutdown.
///
/// The first SIGTERM or SIGINT starts a graceful shutdown: polling stops, batches in flight are
/// published and acknowledged, offsets are committed. It may take at most `timeout`: a broker that
/// went away never acknowledges, and a shutdown that waits for it never ends. When the time is up,
/// or at a second signal, the shutdown is escalated to cancellation: the services stop where they
/// are, the pipeline logs what stays uncommitted (its next owner gets it again), and `run` reports
/// the escalation so the process exits non-zero.
///
/// The group itself is given no signals: swift-service-lifecycle ignores a graceful-shutdown
/// signal after the first one (the signal is set to SIG_IGN), and the same signal cannot be both
/// a graceful and a cancellation signal, so a second Ctrl-C would be swallowed.
public final class ShutdownController: Sendable {
    /// How a run ended.
    public enum Outcome: Sendable, Equatable {
        /// Every service returned after a graceful shutdown (or on its own).
        case completed
        /// The shutdown was cut short; `reason` says why (the deadline, a second signal).
        case escalated(reason: String)
    }

    private struct State {
        var signals = 0
        var group: ServiceGroup?
        var running: Task<Void, any Error>?
        var deadline: Task<Void, Never>?
        var escalation: String?
        var finished = false
    }

    private let timeout: Duration
    private let logger: Logger
    private let announce: @Sendable (String) -> Void
    private let state = Mutex(State())

    /// - Parameters:
    ///   - timeout: the longest a graceful shutdown may take before it is cancelled.
    ///   - announce: prints one operator line (the CLI's banner).
    public init(timeout: Duration, logger: Logger, announce: @escaping @Sendable (String) -> Void = { _ in }) {
        self.timeout = timeout
        self.logger = logger
        self.announce = announce
    }

    /// Runs `group` until it returns, shutting it down on `signals` (see the type). Throws what
    /// the group threw, unless the shutdown was escalated: then the outcome says so (the error a
    /// cancelled service throws is the cancellation's, not news).
    public func run(_ group: ServiceGroup, signals: [Int32] = [SIGTERM, SIGINT]) async throws -> Outcome {
        // Handlers before the group runs: a signal that arrives before them would kill the
        // process outright. One that arrives before `running` is set still shuts down gracefully
        // (a group asked to before it runs stops as soon as it starts).
        state.withLock { $0.group = group }
        let sources = signals.map { listen(to: $0) }
        defer {
            // Once the group is done, a signal during the clients' close stops the process.
            for source in sources { source.cancel() }
            for signal in signals { Glibc.signal(signal, SIG_DFL) }
        }
        let running = Task { try await group.run() }
        state.withLock { $0.running = running }
        let result = await withTaskCancellationHandler {
            await running.result
        } onCancel: {
            running.cancel()
        }
        let escalation = state.withLock { state in
            state.finished = true
            state.deadline?.cancel()
            return state.escalation
        }
        if let escalation { return .escalated(reason: escalation) }
        try result.get()
        return .completed
    }

    /// What the `signal` handler does: the first starts a graceful shutdown with its deadline,
    /// the second cancels.
    public func received(_ signal: String) {
        enum Action { case graceful(ServiceGroup?), cancel(Task<Void, any Error>?), none }
        let action: Action = state.withLock { state in
            guard !state.finished else { return .none }
            state.signals += 1
            if state.signals == 1 { return .graceful(state.group) }
            guard state.escalation == nil else { return .none }
            state.escalation = "a second \(signal) during the graceful shutdown"
            return .cancel(state.running)
        }
        switch action {
        case .graceful(let group):
            let shown = Self.text(timeout)
            announce("waqiti serve: \(signal): draining (up to \(shown), shutdown.timeout); \(signal) again stops at once without committing what is in flight")
            logger.notice("graceful shutdown started", metadata: ["signal": "\(signal)", "timeout": "\(shown)"])
            let deadline = Task { [timeout] in
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                self.escalate("the graceful shutdown did not finish within shutdown.timeout (\(shown))")
            }
            state.withLock { $0.deadline = deadline }
            Task { await group?.triggerGracefulShutdown() }
        case .cancel(let running):
            announce("waqiti serve: \(signal) again: stopping at once")
            logger.warning("cancelling the services: a second signal", metadata: ["signal": "\(signal)"])
            running?.cancel()
        case .none:
            break
        }
    }

    private func escalate(_ reason: String) {
        let running: Task<Void, any Error>? = state.withLock { state in
            guard !state.finished, state.escalation == nil else { return nil }
            state.escalation = reason
            return state.running
        }
        guard let running else { return }
        announce("waqiti serve: \(reason): stopping without committing what is in flight")
        logger.error("cancelling the services: \(reason)")
        running.cancel()
    }

    /// `30s`, `1500ms`: as the configuration writes durations.
    static func text(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    /// Takes `signal` from its default action (termination) and reports it to `received`.
    private func listen(to signal: Int32) -> any DispatchSourceSignal {
        Glibc.signal(signal, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
        let name = signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : "signal \(signal)"
        source.setEventHandler { [weak self] in self?.received(name) }
        source.resume()
        return source
    }
}
