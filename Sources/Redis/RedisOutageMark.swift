import Synchronization

/// When a Redis client last found Redis unavailable, so that the calls queued behind the one that
/// found out fail at once instead of each waiting out a connect or command timeout of its own.
///
/// A client's round trips run one at a time on its own threads (`BlockingExecutor`). When Redis
/// stops answering, the first call waits for its timeout, and every call queued behind it used to
/// wait for another one, one after the other: with a 1 s connect timeout, the tenth HTTP scoring
/// request queued at the start of a network partition answered after 10 s. A call that was queued
/// before the latest failure is now refused without being sent (`RedisError.notSent`), and its
/// caller degrades as for any unavailable Redis. A call queued after the failure is sent: that is
/// how a retry, or the first batch after a recovery ping, finds Redis back. A success clears the
/// mark, and a refused call does not renew it, so refusals never feed each other.
public final class RedisOutageMark: Sendable {
    private struct Failure {
        var at: ContinuousClock.Instant
        var reason: String
    }

    private let last = Mutex<Failure?>(nil)

    public init() {}

    /// Why Redis was found unavailable after `instant` (when a call was queued), if it was.
    func failure(after instant: ContinuousClock.Instant) -> String? {
        last.withLock { last in
            guard let last, last.at > instant else { return nil }
            return last.reason
        }
    }

    /// Redis was found unavailable now.
    func recordFailure(_ reason: String) {
        last.withLock { $0 = Failure(at: .now, reason: reason) }
    }

    /// Redis answered: calls queued before an earlier failure are sent again.
    func recordSuccess() {
        last.withLock { $0 = nil }
    }

    /// Runs `body` (a call queued at `queuedAt`) unless Redis was found unavailable since, and
    /// records what it finds.
    public func run<Value>(queuedAt: ContinuousClock.Instant, _ body: () throws(RedisError) -> Value) throws(RedisError) -> Value {
        try run(queuedAt: queuedAt, refused: { $0 }, unavailableReason: { $0.isUnavailable ? $0.description : nil }, body)
    }

    /// `run` for a caller whose errors are its own (the feature store's): `refused` turns the
    /// `notSent` refusal into one, and `unavailableReason` says which of them mean Redis is
    /// unavailable (and why).
    public func run<Value, Failure: Error>(
        queuedAt: ContinuousClock.Instant, refused: (RedisError) -> Failure, unavailableReason: (Failure) -> String?,
        _ body: () throws(Failure) -> Value
    ) throws(Failure) -> Value {
        if let reason = failure(after: queuedAt) { throw refused(.notSent(reason: reason)) }
        do {
            let value = try body()
            recordSuccess()
            return value
        } catch {
            if let reason = unavailableReason(error) { recordFailure(reason) }
            throw error
        }
    }

    static func notSentDescription(_ reason: String) -> String {
        "not sent: Redis was found unavailable while this call waited for its turn (\(reason))"
    }
}
