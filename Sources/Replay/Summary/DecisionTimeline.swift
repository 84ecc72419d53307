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

    /// Buckets of a round size giving at most `maxBuckets` buckets across the span, oldest
    /// first, empty buckets included so time is linear. Sizes: 1, 5, 15 and 30 minutes, 1, 3, 6
    /// and 12 hours, 1 and 7 days, 30 days, 365 days, then 365 days times 2, 5, 10, 20, 50, …
    /// (`bucketMinutes`), so any span of event times fits: sizes stopped at a week, and events
    /// dated 0001-01-01 and 9999-12-31 made 521,724 buckets (a 102 MB summary).
    public func buckets(maxBuckets: Int = 120) -> [TimelineBucket] {
        var copy = self
        copy.flush()
        guard let first = copy.minutes.keys.min(), let last = copy.minutes.keys.max() else { return [] }
        let (start, size, count) = Self.layout(first: first, last: last, maxBuckets: maxBuckets)
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

    /// The `n`th bucket size in minutes, smallest first.
    static func bucketMinutes(_ n: Int) -> Int64 {
        let fixed: [Int64] = [1, 5, 15, 30, 60, 180, 360, 720, 1440, 10080, 43200, 525_600]
        if n < fixed.count { return fixed[n] }
        // 365 days × 2, 5, 10, 20, 50, 100, …
        let step = n - fixed.count
        var decade: Int64 = 1
        for _ in 0..<(step / 3) { decade *= 10 }
        return 525_600 * decade * [2, 5, 10][step % 3]
    }

    /// The first bucket's start (minutes since the epoch), the size and the number of buckets:
    /// the smallest size whose buckets cover `first...last` in at most `maxBuckets` (at least 1).
    /// Buckets up to a week start at a multiple of their size; longer ones at the midnight (UTC)
    /// of the first event's day, so that a bucket of centuries does not start before year 1.
    static func layout(first: Int64, last: Int64, maxBuckets: Int) -> (start: Int64, size: Int64, count: Int) {
        let limit = Int64(max(1, maxBuckets))
        var n = 0
        while true {
            let size = bucketMinutes(n)
            let alignment = size <= 10080 ? size : 1440
            let start = floorDivide(first, alignment) * alignment
            let count = (last - start) / size + 1
            // Minutes since the epoch of any event time are below 2^48, so the sizes end long before overflow.
            if count <= limit { return (start, size, Int(count)) }
            n += 1
        }
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
