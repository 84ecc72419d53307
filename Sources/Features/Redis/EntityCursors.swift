/// How far one engine instance has read each entity's log in Redis: the log's epoch and the
/// absolute index after the last entry the mirror has applied.
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
    }

    private var cursors: [String: Cursor] = [:]
    private var countAfterSweep = 0
    private var newest = Int64.min

    subscript(key: String) -> Cursor? { cursors[key] }

    var count: Int { cursors.count }

    mutating func set(_ key: String, epoch: Int64, end: Int64, seen: Int64) {
        let previous = cursors[key]?.seen ?? .min
        cursors[key] = Cursor(epoch: epoch, end: end, seen: max(previous, seen))
    }

    mutating func remove(_ key: String) { cursors[key] = nil }

    /// Drops the cursors idle for longer than `idleAfter` behind the newest time seen, once the
    /// table has doubled.
    mutating func sweep(batchNewest: Int64, idleAfter: Int64) {
        newest = max(newest, batchNewest)
        guard cursors.count >= max(1024, 2 * countAfterSweep) else { return }
        let cutoff = newest &- idleAfter
        cursors = cursors.filter { $0.value.seen >= cutoff }
        countAfterSweep = cursors.count
    }
}
