/// The wait between retries of a failing step (a poll, a publish, a database batch): doubles
/// from `initial` up to `maximum`, and starts over after a success. One schedule for the engine's
/// pipeline and every service, so all of them back off from a sick dependency the same way.
public struct RetryBackoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    private var upcoming: Duration

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        precondition(initial > .zero && maximum >= initial, "backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.upcoming = initial
    }

    /// The wait before this retry (log it, then sleep it); the one after is twice as long, up
    /// to `maximum`.
    public mutating func next() -> Duration {
        defer { upcoming = min(upcoming * 2, maximum) }
        return upcoming
    }

    /// After a success: the next failure waits `initial` again.
    public mutating func reset() { upcoming = initial }
}
