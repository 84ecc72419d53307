import FraudCore

/// What to simulate. The same configuration always produces the same events, in the same order,
/// byte for byte, on every machine.
public struct SimulationConfiguration: Hashable, Sendable {
    /// Number of distinct events (duplicates come on top).
    public var events: Int
    public var seed: UInt64
    /// Fraction of events labeled fraud, 0...0.5.
    public var fraudRate: Double
    /// Event time of the start of the traffic.
    public var start: EventTime
    /// Mean events per second of event time; nil spreads the events over one week.
    public var eventsPerSecond: Double?
    /// Bounded out-of-orderness of arrival: no event arrives after an event whose time is more
    /// than this much later than its own. Zero keeps event-time order.
    public var disorder: EventDuration
    /// Fraction of events delivered a second time (same payment id and content) a little later.
    public var duplicateRate: Double

    public init(
        events: Int, seed: UInt64 = 1, fraudRate: Double = 0.01,
        start: EventTime = RFC3339.parse("2026-11-01T00:00:00Z")!, eventsPerSecond: Double? = nil,
        disorder: EventDuration = .init(milliseconds: 0), duplicateRate: Double = 0
    ) {
        self.events = events
        self.seed = seed
        self.fraudRate = fraudRate
        self.start = start
        self.eventsPerSecond = eventsPerSecond
        self.disorder = disorder
        self.duplicateRate = duplicateRate
    }

    /// The mean rate actually used.
    public var effectiveEventsPerSecond: Double {
        eventsPerSecond ?? max(Double(events) / 604_800, 0.001)
    }

    /// Checks every option; the message names the option and the allowed range.
    public func validate() throws(SimulationConfigurationError) {
        guard events >= 0 else { throw .init("--events must be 0 or more, got \(events)") }
        guard fraudRate >= 0, fraudRate <= 0.5 else { throw .init("--fraud-rate must be within 0...0.5, got \(fraudRate)") }
        if let rate = eventsPerSecond, !(rate > 0 && rate.isFinite) {
            throw .init("--rate must be a positive number of events per second, got \(rate)")
        }
        guard disorder.milliseconds >= 0 else { throw .init("--disorder must be 0 or more milliseconds, got \(disorder.milliseconds)") }
        guard duplicateRate >= 0, duplicateRate <= 1 else { throw .init("--duplicates must be within 0...1, got \(duplicateRate)") }
    }
}

public struct SimulationConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
