/// Draws indexes in proportion to fixed weights (account activity, merchant popularity) by binary
/// search over the cumulative weights: O(log n) per draw, one random number each.
struct WeightedTable: Sendable {
    private let cumulative: [Double]

    init(weights: [Double]) {
        precondition(!weights.isEmpty, "a weighted table needs at least one weight")
        var total = 0.0
        cumulative = weights.map { total += $0; return total }
    }

    /// Zipf-like weights 1/(rank + offset)^exponent: a few very active items and a long tail.
    static func zipf(count: Int, exponent: Double, offset: Double = 1) -> WeightedTable {
        WeightedTable(weights: (0..<count).map { 1 / PortableMath.pow(Double($0) + offset, exponent) })
    }

    var count: Int { cumulative.count }

    func draw(_ random: inout SimulationRandom) -> Int {
        let target = random.unit() * cumulative[cumulative.count - 1]
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] > target { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
