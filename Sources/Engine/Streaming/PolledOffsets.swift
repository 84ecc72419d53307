import Kafka

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

    var committable: PartitionOffset {
        PartitionOffset(topic: partition.topic, partition: partition.partition, nextOffset: nextOffset)
    }

    var description: String { "\(partition)@\(nextOffset) (epoch \(epoch))" }

    /// One offset per partition and epoch, the highest, sorted by partition and epoch.
    static func merged(_ offsets: [PolledOffset]) -> [PolledOffset] {
        var highest: [PolledOffset: Int64] = [:]
        for offset in offsets {
            let key = PolledOffset(partition: offset.partition, nextOffset: 0, epoch: offset.epoch)
            highest[key] = max(highest[key] ?? .min, offset.nextOffset)
        }
        return highest.map { PolledOffset(partition: $0.key.partition, nextOffset: $0.value, epoch: $0.key.epoch) }
            .sorted { ($0.partition, $0.epoch) < ($1.partition, $1.epoch) }
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
