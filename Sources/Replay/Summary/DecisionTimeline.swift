import FraudCore

/// Decisions per outcome over event time, kept per minute and grouped into display buckets.
///
/// Per-minute counts keep memory proportional to the replayed time span (a month is 43,200
/// minutes), not to the number of events; the bucket size is chosen at the end, once the span is known.
public struct DecisionTimeline: Hashable, Sendable {
    private var minutes: [Int64: OutcomeCounts] = [:]
    /// Fraud-labeled events per minute, for the fraud line over time.
    private var fraudMinutes: [Int64: Int] = [:]
    // Consecutive events mostly fall in the same minute: count there without a dictionary lookup.
    private var currentMinute: Int64 = .min
    private var current = OutcomeCounts()
    private var currentFraud = 0

    public init() {}

    @inline(__always)
    public mutating func add(time: EventTime, outcome: Outcome, isFraud: Bool) {
        let minute = Self.floorDivide(time.millisecondsSinceEpoch, 60_000)
        if minute != currentMinute { flush(); currentMinute = minute }
        current[outcome] += 1
        if isFraud { currentFraud += 1 }
    }

    private mutating func flush() {
        guard currentMinute != .min, current.total > 0 else { return }
        var counts = minutes[currentMinute, default: OutcomeCounts()]
        counts.approve += current.approve
        counts.review += current.review
        counts.decline += current.decline
        minutes[currentMinute] = counts
        if currentFraud > 0 { fraudMinutes[currentMinute, default: 0] += currentFraud }
        current = OutcomeCounts()
        currentFraud = 0
    }

    /// Buckets of a round size (1 minute up to 1 week) giving at most `maxBuckets` buckets
    /// across the span, oldest first, empty buckets included so time is linear.
    public func buckets(maxBuckets: Int = 120) -> [TimelineBucket] {
        var copy = self
        copy.flush()
        guard let first = copy.minutes.keys.min(), let last = copy.minutes.keys.max() else { return [] }
        let span = last - first + 1
        let sizes: [Int64] = [1, 5, 15, 30, 60, 180, 360, 720, 1440, 10080]
        let size = sizes.first { (span + $0 - 1) / $0 <= Int64(maxBuckets) } ?? sizes.last!
        let start = Self.floorDivide(first, size) * size
        let count = Int((last - start) / size + 1)
        var buckets = (0..<count).map { index in
            TimelineBucket(start: EventTime(millisecondsSinceEpoch: (start + Int64(index) * size) * 60_000), minutes: Int(size))
        }
        for (minute, counts) in copy.minutes {
            let index = Int((minute - start) / size)
            buckets[index].outcomes.approve += counts.approve
            buckets[index].outcomes.review += counts.review
            buckets[index].outcomes.decline += counts.decline
        }
        for (minute, frauds) in copy.fraudMinutes { buckets[Int((minute - start) / size)].fraud += frauds }
        return buckets
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}

/// One display bucket of the timeline.
public struct TimelineBucket: Codable, Hashable, Sendable {
    public var start: EventTime
    public var minutes: Int
    public var outcomes = OutcomeCounts()
    public var fraud = 0

    public init(start: EventTime, minutes: Int) {
        self.start = start
        self.minutes = minutes
    }

    private enum CodingKeys: String, CodingKey { case start, minutes, outcomes, fraud }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .start)
        guard let time = RFC3339.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: .start, in: container, debugDescription: "'\(text)' is not an RFC 3339 time")
        }
        start = time
        minutes = try container.decode(Int.self, forKey: .minutes)
        outcomes = try container.decode(OutcomeCounts.self, forKey: .outcomes)
        fraud = try container.decode(Int.self, forKey: .fraud)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(RFC3339.format(start), forKey: .start)
        try container.encode(minutes, forKey: .minutes)
        try container.encode(outcomes, forKey: .outcomes)
        try container.encode(fraud, forKey: .fraud)
    }
}
