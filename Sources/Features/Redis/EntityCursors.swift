/// How far one engine instance has read each entity's log in Redis: the log's epoch and the
/// absolute index after the last entry the mirror has applied; and the header's mark and deadline
/// as last seen, which say when the log's upkeep (`LogScript.maintenance`) is due.
///
/// Kept per key field (the plan's group) and keyed by the entity's value, so a lookup hashes the
/// value the event already holds and never builds the Redis key name.
///
/// Bounded like the mirror's key tables: a cursor whose entity has had no event for longer than the
/// eviction horizon (docs/features.md, rule 10) is dropped, checked each time the table has doubled.
/// Dropping one is always safe: an entity without a cursor is rebuilt from its whole retained log.
struct EntityCursors {
    struct Cursor {
        /// 0: none.
        var epoch: Int64
        var end: Int64
        /// The newest event time of the entity this instance has sent or read.
        var seen: Int64
        /// The header's mark and deadline as last seen (0, 0 when not known: upkeep then counts as due).
        var mark: Int64 = 0
        var deadline: Int64 = 0
    }

    private var cursors: [[String: Cursor]]
    private var countAfterSweep = 0
    private var newest = Int64.min

    init(groups: Int = 0) {
        cursors = Array(repeating: [:], count: groups)
    }

    subscript(group: Int, value: String) -> Cursor? { cursors[group][value] }

    var count: Int { cursors.reduce(0) { $0 + $1.count } }

    mutating func set(group: Int, value: String, epoch: Int64, end: Int64, seen: Int64, mark: Int64 = 0, deadline: Int64 = 0) {
        cursors[group][value, default: Cursor(epoch: epoch, end: end, seen: seen)].update(epoch: epoch, end: end, seen: seen, mark: mark, deadline: deadline)
    }

    mutating func remove(group: Int, value: String) { cursors[group][value] = nil }

    /// Drops the cursors idle for longer than `idleAfter` behind the newest time seen, once the
    /// table has doubled.
    mutating func sweep(batchNewest: Int64, idleAfter: Int64) {
        newest = max(newest, batchNewest)
        let total = count
        guard total >= max(1024, 2 * countAfterSweep) else { return }
        let cutoff = newest &- idleAfter
        for g in cursors.indices { cursors[g] = cursors[g].filter { $0.value.seen >= cutoff } }
        countAfterSweep = count
    }
}

extension EntityCursors.Cursor {
    mutating func update(epoch: Int64, end: Int64, seen: Int64, mark: Int64, deadline: Int64) {
        self.epoch = epoch
        self.end = end
        self.seen = max(self.seen, seen)
        self.mark = mark
        self.deadline = deadline
    }
}
