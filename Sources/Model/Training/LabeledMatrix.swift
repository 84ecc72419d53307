import FraudCore

/// Raw feature values of labeled events in replay order: what training fits and
/// `--export-matrix` writes. Row-major, `rows × featureNames.count`, NaN = missing.
public struct LabeledMatrix: Sendable {
    /// The feature expressions, one per column.
    public var featureNames: [String]
    public var values: [Double]
    /// True for fraud.
    public var labels: [Bool]
    /// Event time of each row (the split is by event time).
    public var times: [EventTime]

    public init(featureNames: [String], values: [Double] = [], labels: [Bool] = [], times: [EventTime] = []) {
        precondition(values.count == labels.count * featureNames.count && labels.count == times.count,
                     "matrix of \(values.count) values does not hold \(labels.count) rows × \(featureNames.count) columns with \(times.count) times")
        self.featureNames = featureNames
        self.values = values
        self.labels = labels
        self.times = times
    }

    public var rows: Int { labels.count }
    public var columns: Int { featureNames.count }

    public mutating func reserveCapacity(rows: Int) {
        values.reserveCapacity(rows * columns)
        labels.reserveCapacity(rows)
        times.reserveCapacity(rows)
    }

    /// Appends one row; `row` holds exactly `columns` values.
    public mutating func append(row: some Collection<Double>, label: Bool, time: EventTime) {
        precondition(row.count == columns, "row of \(row.count) values for \(columns) features")
        values.append(contentsOf: row)
        labels.append(label)
        times.append(time)
    }

    public subscript(row: Int, column: Int) -> Double { values[row * columns + column] }

    /// The rows with the given indices, in that order.
    public func selecting(_ indices: [Int]) -> LabeledMatrix {
        var out = LabeledMatrix(featureNames: featureNames)
        out.reserveCapacity(rows: indices.count)
        for i in indices {
            out.values.append(contentsOf: values[(i * columns)..<((i + 1) * columns)])
            out.labels.append(labels[i])
            out.times.append(times[i])
        }
        return out
    }
}
