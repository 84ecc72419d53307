import FraudCore

/// Simulated traffic in arrival order, as a broker would deliver it: with `disorder`, each event
/// is delayed by a uniform 0...disorder ms, so no event arrives after an event whose time is more
/// than `disorder` later than its own (the bound applies to first deliveries); with
/// `duplicateRate`, that fraction of events is delivered again, identical, 1 to 50 events later.
public struct SimulatedDelivery: Sequence, IteratorProtocol {
    private var traffic: TrafficSimulator
    private let disorder: Int64
    private let duplicateRate: Double
    private var random: SimulationRandom
    /// Events waiting for their arrival time (key = event time + delay).
    private var inFlight = EventHeap()
    /// The next event from the traffic, read ahead to know when in-flight events are safe to release.
    private var lookahead: PaymentEvent?
    private var sequence: UInt64 = 0
    /// Redeliveries waiting for their position (key = index in the output).
    private var redeliveries = EventHeap()
    private var delivered: Int64 = 0

    public init(_ configuration: SimulationConfiguration) throws(SimulationConfigurationError) {
        traffic = try TrafficSimulator(configuration)
        disorder = configuration.disorder.milliseconds
        duplicateRate = configuration.duplicateRate
        random = SimulationRandom(seed: configuration.seed, stream: 6)
        lookahead = traffic.next()
    }

    /// Events labeled fraud among the distinct events.
    public var fraudEvents: Int { traffic.fraudEvents }

    public mutating func next() -> PaymentEvent? {
        if let due = redeliveries.minimum, due.key <= delivered {
            delivered += 1
            return redeliveries.removeMinimum()!.event
        }
        guard let event = nextFirstDelivery() else {
            guard let rest = redeliveries.removeMinimum() else { return nil }
            delivered += 1
            return rest.event
        }
        if duplicateRate > 0, random.chance(duplicateRate) {
            redeliveries.insert(Scheduled(key: delivered + Int64(random.int(in: 1...50)), sequence: sequence, event: event))
            sequence += 1
        }
        delivered += 1
        return event
    }

    private mutating func nextFirstDelivery() -> PaymentEvent? {
        guard disorder > 0 else {
            defer { lookahead = traffic.next() }
            return lookahead
        }
        while true {
            // Every later event has arrival key ≥ its time ≥ the lookahead's time, so the earliest
            // in-flight event can go once its key does not exceed the lookahead's time.
            if let top = inFlight.minimum, lookahead == nil || top.key <= lookahead!.occurredAt.millisecondsSinceEpoch {
                return inFlight.removeMinimum()!.event
            }
            guard let event = lookahead else { return nil }
            let delay = Int64(random.int(in: 0...Int(disorder)))
            inFlight.insert(Scheduled(key: event.occurredAt.millisecondsSinceEpoch + delay, sequence: sequence, event: event))
            sequence += 1
            lookahead = traffic.next()
        }
    }
}
