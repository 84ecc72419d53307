import FraudCore

/// Simulated payment traffic in event-time order: legitimate customers arriving at a diurnal rate,
/// with labeled fraud episodes mixed in so that exactly `round(events × fraudRate)` events are fraud.
///
/// Streams in bounded memory (the population plus the episodes in progress), so a million events
/// cost no more memory than a thousand beyond the population. Use `SimulatedDelivery` for arrival
/// order with disorder and duplicates.
public struct TrafficSimulator: Sequence, IteratorProtocol {
    public let configuration: SimulationConfiguration
    /// Events labeled fraud in the whole run.
    public let fraudEvents: Int

    private var population: Population
    private var factory = EventFactory()
    private var legitimate: LegitimateBehaviour
    private var fraud: FraudBehaviour
    private var clock: SimulationRandom
    private var legitimateRemaining: Int
    private var nextLegitimateTime: Double
    private let eventsPerMillisecond: Double
    private var plan: [Episode]
    private var planIndex = 0
    private var pending = EventHeap()
    private var scratch: [PaymentEvent] = []
    private var sequence: UInt64 = 0

    /// A fraud episode to start at `start` with exactly `size` fraud events.
    struct Episode {
        var start: Int64
        var scenario: FraudScenario
        var size: Int
    }

    public init(_ configuration: SimulationConfiguration) throws(SimulationConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        let seed = configuration.seed
        let start = configuration.start.millisecondsSinceEpoch
        let rate = configuration.effectiveEventsPerSecond
        let span = EventDuration(milliseconds: Int64((Double(configuration.events) / rate * 1000).rounded()))
        var populationRandom = SimulationRandom(seed: seed, stream: 1)
        population = Population(eventCount: configuration.events, start: configuration.start, span: span, random: &populationRandom)
        legitimate = LegitimateBehaviour(random: SimulationRandom(seed: seed, stream: 2))
        fraud = FraudBehaviour(random: SimulationRandom(seed: seed, stream: 3))
        clock = SimulationRandom(seed: seed, stream: 4)
        var planRandom = SimulationRandom(seed: seed, stream: 5)
        fraudEvents = Int((Double(configuration.events) * configuration.fraudRate).rounded())
        legitimateRemaining = configuration.events - fraudEvents
        eventsPerMillisecond = rate / 1000
        nextLegitimateTime = Double(start)
        plan = Self.plan(fraudEvents: fraudEvents, start: start, span: span.milliseconds, &planRandom)
    }

    /// Episodes until their sizes add up to exactly `fraudEvents` (the last one is cut short).
    /// The first five cycle through every scenario so even small runs contain each of them.
    static func plan(fraudEvents: Int, start: Int64, span: Int64, _ random: inout SimulationRandom) -> [Episode] {
        let shares = WeightedTable(weights: FraudScenario.allCases.map(\.episodeShare))
        var episodes: [Episode] = []
        var remaining = fraudEvents
        while remaining > 0 {
            let scenario = episodes.count < FraudScenario.allCases.count
                ? FraudScenario.allCases[episodes.count] : FraudScenario.allCases[shares.draw(&random)]
            let size = Swift.min(scenario.episodeSize(&random), remaining)
            let offset = Int64(random.unit() * Double(Swift.max(span, 1)))
            episodes.append(Episode(start: start + offset, scenario: scenario, size: size))
            remaining -= size
        }
        episodes.sort { ($0.start, $0.scenario.rawValue) < ($1.start, $1.scenario.rawValue) }
        return episodes
    }

    public mutating func next() -> PaymentEvent? {
        while true {
            let legitimateTime = legitimateRemaining > 0 ? Int64(nextLegitimateTime) : Int64.max
            let due = Swift.min(legitimateTime, pending.minimum?.key ?? Int64.max)
            if planIndex < plan.count, plan[planIndex].start <= due {
                startEpisode()
                continue
            }
            if let top = pending.minimum, top.key <= legitimateTime {
                return pending.removeMinimum()!.event
            }
            if legitimateRemaining > 0 {
                let account = population.activity.draw(&clock)
                scratch.removeAll(keepingCapacity: true)
                legitimate.act(account, at: legitimateTime, &population, &factory, maxEvents: legitimateRemaining, into: &scratch)
                legitimateRemaining -= scratch.count
                nextLegitimateTime += clock.exponential() / (eventsPerMillisecond * Diurnal.multiplier(at: legitimateTime))
                // The common case, one event and nothing pending at or before it, skips the heap.
                if scratch.count == 1, legitimateTime < pending.minimum?.key ?? Int64.max {
                    sequence += 1
                    return scratch[0]
                }
                schedule(scratch)
                continue
            }
            if planIndex < plan.count {
                startEpisode()
                continue
            }
            return nil
        }
    }

    private mutating func startEpisode() {
        let episode = plan[planIndex]
        planIndex += 1
        schedule(fraud.episode(episode.scenario, size: episode.size, at: episode.start, &population, &factory, legitBudget: &legitimateRemaining))
    }

    private mutating func schedule(_ events: [PaymentEvent]) {
        for event in events {
            pending.insert(Scheduled(key: event.occurredAt.millisecondsSinceEpoch, sequence: sequence, event: event))
            sequence += 1
        }
    }
}

/// Traffic over the day: quiet at night, a peak in the afternoon (UTC, one shape for everyone),
/// normalised so the mean over a day is 1 and `--rate` stays the mean rate.
enum Diurnal {
    static let hourly: [Double] = {
        let raw = (0..<24).map { hour -> Double in
            let d = Double(hour) - 14
            return 0.25 + PortableMath.exp(-d * d / (2 * 4.5 * 4.5))
        }
        let mean = raw.reduce(0, +) / 24
        return raw.map { $0 / mean }
    }()

    static func multiplier(at millis: Int64) -> Double {
        let hour = Int(((millis / 3_600_000) % 24 + 24) % 24)
        return hourly[hour]
    }
}
