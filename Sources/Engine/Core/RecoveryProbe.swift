import Synchronization

/// When a component that stopped using Redis (the feature router, the decision cache) uses it
/// again, learned without making a batch wait.
///
/// A Redis host that drops packets (a network partition, a dead host) costs every connection
/// attempt the whole `redis.connect_timeout`. If a batch were the probe, the decide stage would
/// stall for that long once per `redis.probe_interval` for as long as the outage lasts: with the
/// defaults (1 s and 2 s) the router and the cache together would hold it up about every other
/// second. Instead, from the first failure on, a task pings Redis once per interval off the
/// decision path (the ping itself blocks a thread of the store's own), whether or not traffic
/// comes, and the first batch after a ping that answered uses Redis again. If that batch fails too
/// (Redis answered the ping and failed the work), the component stays degraded and the pings
/// start over.
///
/// Without a `ping` (a store with no cheaper check than its own calls), one batch per interval
/// tries the store itself.
public final class RecoveryProbe: Sendable {
    public typealias Ping = @Sendable () async -> Bool

    private struct State {
        /// Inline probing (no `ping`): when the last try started.
        var lastAttempt: ContinuousClock.Instant?
        /// The task pinging until Redis answers, while there is one.
        var pinging: Task<Void, Never>?
        /// A ping answered since the last failure: the next batch uses Redis.
        var answered = false
        /// Failures so far: a ping that started before the latest one says nothing about now.
        var failures = 0
    }

    public let interval: Duration
    private let ping: Ping?
    private let state = Mutex(State())

    public init(interval: Duration, ping: Ping?) {
        self.interval = interval
        self.ping = ping
    }

    deinit {
        state.withLock { $0.pinging }?.cancel()
    }

    /// Asked by a degraded component before each batch: whether this batch uses Redis.
    public func mayTry() -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            if state.answered {
                state.answered = false
                return true
            }
            guard ping == nil else { return false }
            if let last = state.lastAttempt, now - last < interval { return false }
            state.lastAttempt = now
            return true
        }
    }

    /// A try failed (the component is, or stays, degraded): an answer from before no longer
    /// counts, and pings start (again) an interval from now.
    public func failed() {
        let now = ContinuousClock.now
        state.withLock { state in
            state.lastAttempt = now
            state.answered = false
            state.failures += 1
            if let ping, state.pinging == nil {
                state.pinging = Task { [weak self, interval] in
                    await Self.pingUntilAnswered(ping, every: interval, probe: { [weak self] in self })
                }
            }
        }
    }

    /// Waits until the pings in flight have had an answer (tests; forever while Redis is down).
    func settle() async {
        await state.withLock { $0.pinging }?.value
    }

    /// Holds the probe only while it reads or writes its state, so a component that goes away
    /// stops its pings.
    private static func pingUntilAnswered(_ ping: Ping, every interval: Duration, probe: @Sendable () -> RecoveryProbe?) async {
        // A zero interval (tests) still yields between pings rather than spinning.
        let pause = max(interval, .milliseconds(1))
        while !Task.isCancelled {
            try? await Task.sleep(for: pause)
            guard let failures = probe()?.state.withLock({ $0.failures }) else { return }
            let answered = await ping()
            guard let current = probe() else { return }
            let done = current.state.withLock { state -> Bool in
                guard answered, state.failures == failures else { return false }
                state.answered = true
                state.pinging = nil
                return true
            }
            if done { return }
        }
    }
}
