import FraudCore

/// One batch's entities (key field + value) in order of first appearance, each with its events in
/// batch order, kept in reusable flat arrays: grouping a batch allocates nothing once the arrays
/// have grown to the batch size (values are the events' own strings, retained, never copied).
struct BatchEntities {
    struct Entity {
        /// The key field: the plan's group index.
        var group: Int
        var value: String
        /// This entity's events are `members[first ..< first + count]`.
        var first: Int
        var count: Int
        /// The newest event time among them.
        var newest: Int64
    }

    private(set) var entities: [Entity] = []
    /// Event indices, grouped by entity, each group in batch order.
    private(set) var members: [Int] = []
    /// Per group, the batch's values → entity index; emptied (capacity kept) per batch.
    private var index: [[String: Int]] = []
    /// Per event and group, its entity (−1: the event has no value for that key field).
    private var entityOf: [Int] = []
    /// Per entity, how many of its events the counting sort has placed.
    private var filled: [Int] = []

    var count: Int { entities.count }

    mutating func group(_ events: UnsafeBufferPointer<PaymentEvent>, plan: CompiledPlan, rates: ExchangeRates) {
        let groups = plan.groups
        if index.count != groups.count { index = Array(repeating: [:], count: groups.count) }
        for g in index.indices { index[g].removeAll(keepingCapacity: true) }
        entities.removeAll(keepingCapacity: true)
        entityOf.removeAll(keepingCapacity: true)
        entityOf.reserveCapacity(events.count * groups.count)
        for i in events.indices {
            let event = events.baseAddress! + i
            let time = event.pointee.occurredAt.millisecondsSinceEpoch
            for g in groups.indices {
                guard let value = groups[g].key.windowString(of: event, rates: rates) else {
                    entityOf.append(-1)
                    continue
                }
                let e = index[g][value, default: entities.count]
                if e == entities.count {
                    index[g][value] = e
                    entities.append(Entity(group: g, value: value, first: 0, count: 0, newest: time))
                }
                entities[e].count += 1
                entities[e].newest = max(entities[e].newest, time)
                entityOf.append(e)
            }
        }
        // Counting sort by entity: stable, so each entity's events stay in batch order.
        var next = 0
        for e in entities.indices {
            entities[e].first = next
            next += entities[e].count
        }
        members.removeAll(keepingCapacity: true)
        members.append(contentsOf: repeatElement(0, count: next))
        filled.removeAll(keepingCapacity: true)
        filled.append(contentsOf: repeatElement(0, count: entities.count))
        for (slot, e) in entityOf.enumerated() where e >= 0 {
            members[entities[e].first + filled[e]] = slot / groups.count
            filled[e] += 1
        }
    }

    /// The events of entity `e`, in batch order.
    func events(of e: Int) -> ArraySlice<Int> {
        members[entities[e].first ..< entities[e].first + entities[e].count]
    }
}
