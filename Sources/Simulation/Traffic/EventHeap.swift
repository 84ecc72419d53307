import FraudCore

/// An event scheduled for a later point of the output: ordered by a key (event time or arrival
/// time), ties broken by the order they were scheduled in, so output is deterministic.
struct Scheduled {
    var key: Int64
    var sequence: UInt64
    var event: PaymentEvent

    @inline(__always)
    static func before(_ a: Scheduled, _ b: Scheduled) -> Bool {
        a.key != b.key ? a.key < b.key : a.sequence < b.sequence
    }
}

/// A binary min-heap of scheduled events.
struct EventHeap {
    private var items: [Scheduled] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var minimum: Scheduled? { items.first }

    mutating func insert(_ item: Scheduled) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Scheduled.before(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeMinimum() -> Scheduled? {
        guard !items.isEmpty else { return nil }
        let last = items.count - 1
        items.swapAt(0, last)
        let minimum = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < items.count else { break }
            var smallest = left
            if left + 1 < items.count, Scheduled.before(items[left + 1], items[left]) { smallest = left + 1 }
            guard Scheduled.before(items[smallest], items[parent]) else { break }
            items.swapAt(smallest, parent)
            parent = smallest
        }
        return minimum
    }
}
