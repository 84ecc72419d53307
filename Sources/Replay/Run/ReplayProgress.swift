/// How far a replay has come, reported after every batch.
public struct ReplayProgress: Sendable, Equatable {
    public var events: Int
    public var rejected: Int
    /// Input bytes consumed so far and the input's size, when the source knows them (files).
    public var bytesRead: Int?
    public var totalBytes: Int?
    public var elapsed: Duration

    public init(events: Int, rejected: Int, bytesRead: Int?, totalBytes: Int?, elapsed: Duration) {
        self.events = events
        self.rejected = rejected
        self.bytesRead = bytesRead
        self.totalBytes = totalBytes
        self.elapsed = elapsed
    }

    public var seconds: Double {
        let (s, atto) = elapsed.components
        return Double(s) + Double(atto) / 1e18
    }

    public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }

    /// Share of the input consumed, when the size is known.
    public var fraction: Double? {
        guard let bytesRead, let totalBytes, totalBytes > 0 else { return nil }
        return min(1, Double(bytesRead) / Double(totalBytes))
    }

    /// Seconds left at the rate so far, when the size is known.
    public var etaSeconds: Double? {
        guard let fraction, fraction > 0, seconds > 0 else { return nil }
        return seconds * (1 - fraction) / fraction
    }
}
