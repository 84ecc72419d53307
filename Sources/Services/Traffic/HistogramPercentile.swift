/// A percentile read from a Prometheus histogram: the upper bound of the bucket holding it, or,
/// when it lies in the `+Inf` bucket, the largest finite bound with `beyondLargestBucket` set (an
/// infinite value has no JSON form: `waqiti traffic --json` failed on it after a slow recovery).
public struct HistogramPercentile: Sendable, Codable, Equatable, CustomStringConvertible {
    public var seconds: Double
    public var beyondLargestBucket: Bool

    public init(seconds: Double, beyondLargestBucket: Bool) {
        self.seconds = seconds
        self.beyondLargestBucket = beyondLargestBucket
    }

    public var description: String { (beyondLargestBucket ? "> " : "≤ ") + "\(seconds) s" }
}
