/// The wait between retries of a failing pass (a poll, a batch, an outbox publish): doubles from
/// `initial` up to `maximum`, and starts over once a pass succeeds. Shared by the consumer loops
/// and the outbox relay so every service backs off from a sick dependency the same way.
struct RetryBackoff {
    let initial: Duration
    let maximum: Duration
    /// What the next `wait()` sleeps; logged as `retry_in` before it.
    private(set) var next: Duration

    init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        precondition(initial > .zero && maximum >= initial, "backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.next = initial
    }

    /// Sleeps `next` (returning early on cancellation) and doubles it, capped at `maximum`.
    mutating func wait() async {
        try? await Task.sleep(for: next)
        next = min(next * 2, maximum)
    }

    /// After a success: the next failure waits `initial` again.
    mutating func reset() { next = initial }
}
