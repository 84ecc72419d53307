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
        top.reserveCapacity(count + 1)
        for (column, feature) in features.enumerated() {
            let value = raw[offset + column]
            let contribution = feature.weight * feature.standardize(value)
            guard top.count < count || contribution > top[top.count - 1].contribution else { continue }
            let position = top.firstIndex { contribution > $0.contribution } ?? top.count
            top.insert(ModelContribution(feature: feature.expression, value: value, contribution: contribution), at: position)
            if top.count > count { top.removeLast() }
        }
        return top
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
