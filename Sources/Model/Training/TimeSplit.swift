import FraudCore

/// A time-based train/validation split: validation is the last part of the event-time range,
/// as it would be in production (train on the past, judge on the future). Random splits leak
/// the future into training through velocity features and overstate accuracy.
public struct TimeSplit: Equatable, Sendable {
    /// Rows with event time at or after this are validation.
    public var cutoff: EventTime
    public var trainRows: [Int]
    public var validationRows: [Int]

    /// Splits at `start + (1 − validationFraction) · (end − start)` of the rows' event-time range.
    /// - Parameter validationFraction: share of the time range, 0 (no validation) up to 1 exclusive.
    public init(times: [EventTime], validationFraction: Double) {
        precondition(validationFraction >= 0 && validationFraction < 1, "validation fraction \(validationFraction) is outside 0..<1")
        guard let first = times.min(), let last = times.max(), validationFraction > 0 else {
            self.cutoff = EventTime(millisecondsSinceEpoch: .max)
            self.trainRows = Array(times.indices)
            self.validationRows = []
            return
        }
        let span = Double(last.millisecondsSinceEpoch - first.millisecondsSinceEpoch)
        let offset = Int64((span * (1 - validationFraction)).rounded(.up))
        let cutoff = EventTime(millisecondsSinceEpoch: first.millisecondsSinceEpoch + offset)
        self.cutoff = cutoff
        self.trainRows = times.indices.filter { times[$0] < cutoff }
        self.validationRows = times.indices.filter { times[$0] >= cutoff }
    }
}
