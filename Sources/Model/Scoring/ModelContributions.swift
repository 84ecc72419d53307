import FraudCore

extension LogisticModel {
    /// Every feature's contribution wⱼ·zⱼ to the logit of the row at `offset` of `raw`, in
    /// feature order, in double precision by the reference definition (`ModelFeature.standardize`):
    /// the bias plus all of them is the logit.
    public func contributions(raw: UnsafeBufferPointer<Double>, offset: Int) -> [Double] {
        features.enumerated().map { column, feature in feature.weight * feature.standardize(raw[offset + column]) }
    }

    /// The `count` features that pushed the logit of the row at `offset` furthest towards fraud
    /// (largest wⱼ·zⱼ first), named by their expressions. Exact (double precision, reference
    /// arithmetic); called only for the rows whose decision carries reasons.
    public func topContributions(raw: UnsafeBufferPointer<Double>, offset: Int, count: Int) -> [ModelContribution] {
        var top: [ModelContribution] = []
        top.reserveCapacity(Swift.min(count, features.count))
        appendTopContributions(raw: raw, offset: offset, count: count, to: &top)
        return top
    }

    /// Appends `topContributions(raw:offset:count:)` to `out`: exactly `min(count, features.count)`
    /// entries, largest first, ties in feature order. The engine collects every row of a batch in
    /// one array this way instead of one array per row.
    public func appendTopContributions(raw: UnsafeBufferPointer<Double>, offset: Int, count: Int, to out: inout [ModelContribution]) {
        let kept = Swift.min(count, features.count)
        guard kept > 0 else { return }
        // The running top list holds columns and contributions only: a feature's name is copied
        // once it is known to be among the top, not on every insertion.
        // The features are read in place: iterating the array copied each one, a retain and
        // release of its expression string per feature and row.
        features.withUnsafeBufferPointer { features in
        withUnsafeTemporaryAllocation(of: (column: Int, contribution: Double).self, capacity: kept + 1) { top in
            var size = 0
            for column in features.indices {
                let feature = features.baseAddress! + column
                let contribution = feature.pointee.weight * feature.pointee.standardize(raw[offset + column])
                guard size < kept || contribution > top[size - 1].contribution else { continue }
                var position = 0
                while position < size, !(contribution > top[position].contribution) { position += 1 }
                var index = size
                while index > position {
                    top[index] = top[index - 1]
                    index -= 1
                }
                top[position] = (column, contribution)
                size = Swift.min(size + 1, kept)
            }
            for (column, contribution) in top.prefix(size) {
                out.append(ModelContribution(feature: features[column].expression, value: raw[offset + column], contribution: contribution))
            }
        }
        }
    }
}

extension LogisticModel {
    /// P(fraud) of the row at `offset` of `raw` straight from the definition, in double precision,
    /// one feature at a time: the reference the BLAS path is tested and benchmarked against.
    public func referenceScore(raw: UnsafeBufferPointer<Double>, offset: Int) -> Double {
        var logit = bias
        for (column, feature) in features.enumerated() { logit += feature.weight * feature.standardize(raw[offset + column]) }
        return Logistic.sigmoid(logit)
    }
}
