import Synchronization

/// A token bucket per client: `ratePerSecond` requests a second, bursts of up to one second's worth.
/// Clients idle for a minute are forgotten so the table stays bounded by the active clients.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        var lastSweep: ContinuousClock.Instant
    }

    public let ratePerSecond: Double
    private let state: Mutex<State>

    public init(ratePerSecond: Int) {
        self.ratePerSecond = Double(ratePerSecond)
        self.state = Mutex(State(lastSweep: .now))
    }

    /// Takes one token for `client`; false when its bucket is empty (answer 429).
    public func allow(_ client: String, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in
            if now - state.lastSweep > .seconds(60) {
                state.buckets = state.buckets.filter { now - $0.value.updated < .seconds(60) }
                state.lastSweep = now
            }
            var bucket = state.buckets[client] ?? Bucket(tokens: ratePerSecond, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(ratePerSecond, bucket.tokens + seconds * ratePerSecond)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            state.buckets[client] = bucket
            return allowed
        }
    }
}
