import FraudCore

/// A time-based train/validation split: validation is the latest part of the events, as it would
/// be in production (train on the past, judge on the future). Random splits leak the future into
/// training through velocity features and overstate accuracy.
public struct TimeSplit: Equatable, Sendable {
    /// Rows with event time at or after this are validation.
    public var cutoff: EventTime
    public var trainRows: [Int]
    public var validationRows: [Int]

    /// Splits at the (1 − validationFraction) quantile of the rows' event times: the cutoff is the
    /// event time of the row at position ⌊n·(1 − f)⌋ in time order, so about the last share f of
    /// the rows (not of the time range, where one early outlier would push every other row into
    /// validation) is validation. Rows tied with the cutoff time all go to validation, so the
    /// split depends only on the times, never on the rows' order.
    /// - Parameter validationFraction: share of the rows, 0 (no validation) up to 1 exclusive.
    public init(times: [EventTime], validationFraction: Double) {
        precondition(validationFraction >= 0 && validationFraction < 1, "validation fraction \(validationFraction) is outside 0..<1")
        guard !times.isEmpty, validationFraction > 0 else {
            self.cutoff = EventTime(millisecondsSinceEpoch: .max)
            self.trainRows = Array(times.indices)
            self.validationRows = []
            return
        }
        let sorted = times.map(\.millisecondsSinceEpoch).sorted()
        let position = min(sorted.count - 1, Int((Double(sorted.count) * (1 - validationFraction) + 1e-9).rounded(.down)))
        let cutoff = EventTime(millisecondsSinceEpoch: sorted[position])
        self.cutoff = cutoff
        self.trainRows = times.indices.filter { times[$0] < cutoff }
        self.validationRows = times.indices.filter { times[$0] >= cutoff }
    }
}
