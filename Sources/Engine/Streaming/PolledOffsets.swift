import Kafka
import Synchronization

/// The next offset to read of one partition, as a poll left it, and the assignment epoch its
/// messages were polled under (`KafkaConsumerMessage.assignmentEpoch`).
///
/// A partition revoked from this member and assigned to it again is read anew from the group's
/// committed offset, which its owner in between may have moved past anything polled here before;
/// an offset from before the revocation is then worthless, and committing it would move the
/// group's position back. The epoch, which moves on with every assignment change, tells the two
/// apart where the partition alone cannot.
struct PolledOffset: Sendable, Hashable, CustomStringConvertible {
    var partition: KafkaTopicPartition
    var nextOffset: Int64
    var epoch: UInt64
    /// The first offset of the partition's messages in the batch (for the report of what stays
    /// uncommitted when the pipeline stops before draining).
    var firstOffset: Int64

    var committable: PartitionOffset {
        PartitionOffset(topic: partition.topic, partition: partition.partition, nextOffset: nextOffset)
    }

    var description: String { "\(partition)@\(nextOffset) (epoch \(epoch))" }

    /// One offset per partition and epoch, the highest (and the lowest first offset), sorted by
    /// partition and epoch.
    static func merged(_ offsets: [PolledOffset]) -> [PolledOffset] {
        struct Key: Hashable {
            var partition: KafkaTopicPartition
            var epoch: UInt64
        }
        var merged: [Key: PolledOffset] = [:]
        for offset in offsets {
            let key = Key(partition: offset.partition, epoch: offset.epoch)
            guard var held = merged[key] else {
                merged[key] = offset
                continue
            }
            held.nextOffset = max(held.nextOffset, offset.nextOffset)
            held.firstOffset = min(held.firstOffset, offset.firstOffset)
            merged[key] = held
        }
        return merged.values.sorted { ($0.partition, $0.epoch) < ($1.partition, $1.epoch) }
    }
}

/// What the commit stage has to commit: per partition, the highest acknowledged offset of the
/// partition's latest epoch, all of them (`latest`, for the last commit) and those acknowledged
/// since the last commit (`pending`).
///
/// Within an epoch an offset only moves forward (the highest wins, whatever order batches are
/// acknowledged in). An offset of a later epoch replaces one of an earlier epoch, and one of an
/// earlier epoch than what is held is ignored: either way nothing from before a revocation is
/// committed after it.
struct AcknowledgedOffsets {
    private(set) var latest: [KafkaTopicPartition: PolledOffset] = [:]
    private(set) var pending: [KafkaTopicPartition: PolledOffset] = [:]

    mutating func acknowledge(_ offsets: [PolledOffset]) {
        for offset in offsets {
            Self.advance(&latest, with: offset)
            Self.advance(&pending, with: offset)
        }
    }

    /// The pending offsets, sorted by partition; none are pending afterwards.
    mutating func takePending() -> [PolledOffset] {
        defer { pending = [:] }
        return pending.values.sorted { $0.partition < $1.partition }
    }

    /// Forgets every offset `isStale` rejects (its partition was revoked since it was polled);
    /// returns them.
    mutating func removeStale(_ isStale: (PolledOffset) -> Bool) -> [PolledOffset] {
        let stale = latest.values.filter(isStale) + pending.values.filter(isStale)
        for offset in stale {
            if latest[offset.partition] == offset { latest[offset.partition] = nil }
            if pending[offset.partition] == offset { pending[offset.partition] = nil }
        }
        return Array(Set(stale)).sorted { $0.partition < $1.partition }
    }

    private static func advance(_ held: inout [KafkaTopicPartition: PolledOffset], with offset: PolledOffset) {
        guard let current = held[offset.partition] else {
            held[offset.partition] = offset
            return
        }
        if offset.epoch > current.epoch || (offset.epoch == current.epoch && offset.nextOffset > current.nextOffset) {
            held[offset.partition] = offset
        }
    }
}

/// Per partition, what this member polled, had acknowledged and committed under the partition's
/// latest epoch: when the pipeline stops before it drained (a shutdown cut short, a fatal Kafka
/// error), the offsets it reports as not committed, which the partition's next owner (or this
/// instance, restarted) reads again.
final class OffsetLedger: Sendable {
    /// Offsets of one partition polled and not committed.
    struct Uncommitted: Sendable, Equatable, CustomStringConvertible {
        var partition: KafkaTopicPartition
        /// The first offset this instance did not commit: the group's position, unless an
        /// asynchronous commit was lost on the way (then it is earlier).
        var from: Int64
        /// One past the last offset polled.
        var to: Int64
        /// One past the last offset whose decisions and dead letters the broker acknowledged,
        /// when that is past `from`.
        var acknowledgedTo: Int64?

        var description: String {
            "\(partition) offsets \(from)-\(to - 1)" + (acknowledgedTo.map { " (published and acknowledged up to \($0 - 1))" } ?? "")
        }
    }

    private struct Entry {
        var epoch: UInt64
        var firstPolled: Int64
        var polled: Int64
        var acknowledged: Int64?
        var committed: Int64?
    }

    private let entries = Mutex<[KafkaTopicPartition: Entry]>([:])

    /// A new epoch of a partition starts its entry afresh; an older one is ignored.
    func polled(_ offsets: [PolledOffset]) {
        entries.withLock { entries in
            for offset in offsets {
                guard let entry = entries[offset.partition], entry.epoch >= offset.epoch else {
                    entries[offset.partition] = Entry(epoch: offset.epoch, firstPolled: offset.firstOffset, polled: offset.nextOffset)
                    continue
                }
                guard entry.epoch == offset.epoch else { continue }
                entries[offset.partition]!.firstPolled = min(entry.firstPolled, offset.firstOffset)
                entries[offset.partition]!.polled = max(entry.polled, offset.nextOffset)
            }
        }
    }

    func acknowledged(_ offsets: [PolledOffset]) {
        update(offsets) { $0.acknowledged = max($0.acknowledged ?? .min, $1) }
    }

    /// Handed to a commit that did not fail (an asynchronous one may still be lost).
    func committed(_ offsets: [PolledOffset]) {
        update(offsets) { $0.committed = max($0.committed ?? .min, $1) }
    }

    /// Per partition that `isCurrent` still counts as this member's (its epoch unchanged since
    /// it was polled), the offsets polled and not committed, by partition.
    func uncommitted(isCurrent: (KafkaTopicPartition, UInt64) -> Bool) -> [Uncommitted] {
        entries.withLock { entries in
            entries.compactMap { partition, entry -> Uncommitted? in
                let from = entry.committed ?? entry.firstPolled
                guard entry.polled > from, isCurrent(partition, entry.epoch) else { return nil }
                return Uncommitted(partition: partition, from: from, to: entry.polled, acknowledgedTo: entry.acknowledged.flatMap { $0 > from ? $0 : nil })
            }
            .sorted { $0.partition < $1.partition }
        }
    }

    private func update(_ offsets: [PolledOffset], _ body: (inout Entry, Int64) -> Void) {
        entries.withLock { entries in
            for offset in offsets where entries[offset.partition]?.epoch == offset.epoch {
                body(&entries[offset.partition]!, offset.nextOffset)
            }
        }
    }
}
