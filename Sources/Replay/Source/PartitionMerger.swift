/// Merges records of several partitions into one deterministic order: by time, then partition,
/// then offset, whatever order the broker delivered them in. `KafkaReplaySource` merges on each
/// event's own time (`occurred_at`), so a topic replays in the order of the same events in a file
/// sorted by time; it merged on the broker's timestamp, and a backfilled topic (broker
/// timestamps all about equal) then came out ordered by partition, deciding 31 of 3,000 events
/// differently from the file.
///
/// Only each partition's next record is compared, so every partition's own order is kept even
/// where its times go backwards, and the result depends on the partitions' contents alone.
///
/// A record is released only once every partition that is not finished has a record waiting,
/// so nothing released can later be preceded by a record still in flight. Memory is bounded by
/// how far the partitions' deliveries run ahead of each other.
public struct PartitionMerger<Record> {
    public struct Position: Comparable, Hashable, Sendable {
        /// Milliseconds since the epoch: the event's `occurred_at` (`add(_:partition:offset:eventTime:)`).
        public var timestamp: Int64
        public var partition: Int32
        public var offset: Int64

        public init(timestamp: Int64, partition: Int32, offset: Int64) {
            self.timestamp = timestamp
            self.partition = partition
            self.offset = offset
        }

        public static func < (l: Position, r: Position) -> Bool {
            (l.timestamp, l.partition, l.offset) < (r.timestamp, r.partition, r.offset)
        }
    }

    private var queues: [Int32: [(position: Position, record: Record)]] = [:]
    private var heads: [Int32: Int] = [:]
    private var finished: Set<Int32> = []
    /// Each partition's last time added, for records without one of their own.
    private var lastTimes: [Int32: Int64] = [:]
    private let partitions: [Int32]

    public init(partitions: [Int32]) {
        self.partitions = partitions.sorted()
        for partition in partitions {
            queues[partition] = []
            heads[partition] = 0
        }
    }

    public mutating func add(_ record: Record, at position: Position) {
        queues[position.partition, default: []].append((position, record))
        lastTimes[position.partition] = position.timestamp
    }

    /// Adds a partition's next record at its event time; a record without one (it did not
    /// decode) takes the time of the record before it in its partition (`Int64.min` for a
    /// partition's first), so it stays between its neighbours and is released in partition order.
    public mutating func add(_ record: Record, partition: Int32, offset: Int64, eventTime: Int64?) {
        let time = eventTime ?? lastTimes[partition] ?? .min
        add(record, at: Position(timestamp: time, partition: partition, offset: offset))
    }

    /// No more records will come from this partition.
    public mutating func finish(_ partition: Int32) { finished.insert(partition) }

    public var isDrained: Bool { partitions.allSatisfy { finished.contains($0) && pending($0) == 0 } }

    private func pending(_ partition: Int32) -> Int { (queues[partition]?.count ?? 0) - (heads[partition] ?? 0) }

    /// Releases every record that can no longer be preceded by one still to come, in order.
    public mutating func release(into out: inout [Record], limit: Int) {
        while out.count < limit {
            var best: (partition: Int32, position: Position)?
            for partition in partitions {
                guard pending(partition) > 0 else {
                    if finished.contains(partition) { continue }
                    return  // this partition may still deliver something earlier
                }
                let head = queues[partition]![heads[partition]!].position
                if best.map({ head < $0.position }) ?? true { best = (partition, head) }
            }
            guard let best else { return }
            let index = heads[best.partition]!
            out.append(queues[best.partition]![index].record)
            heads[best.partition] = index + 1
            if index + 1 >= 4096 || index + 1 == queues[best.partition]!.count {
                queues[best.partition]!.removeFirst(index + 1)
                heads[best.partition] = 0
            }
        }
    }
}
