import Engine
import Kafka
import Logging
import Synchronization
import Testing

/// The broker's offsets as a table; can be made to fail.
private final class FakeOffsets: PartitionOffsetsSource {
    let marks: [KafkaTopicPartition: (low: Int64, high: Int64)]
    let commits: [KafkaTopicPartition: Int64]
    private let failing = Mutex(false)

    init(marks: [KafkaTopicPartition: (low: Int64, high: Int64)], commits: [KafkaTopicPartition: Int64]) {
        self.marks = marks
        self.commits = commits
    }

    func setFailing(_ value: Bool) { failing.withLock { $0 = value } }

    /// Each call's kind and partitions, in order.
    let calls = Mutex<[String]>([])

    func ends(of partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition: Int64] {
        try answer("ends", partitions) { $0.high }
    }

    func starts(of partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition: Int64] {
        try answer("starts", partitions) { $0.low }
    }

    private func answer(_ kind: String, _ partitions: [KafkaTopicPartition], _ pick: ((low: Int64, high: Int64)) -> Int64) throws -> [KafkaTopicPartition: Int64] {
        calls.withLock { $0.append("\(kind) \(partitions.map(\.partition))") }
        if failing.withLock({ $0 }) { throw KafkaError.timeout(operation: "watermarks", after: .seconds(1)) }
        return Dictionary(uniqueKeysWithValues: partitions.map { ($0, pick(marks[$0]!)) })
    }

    func committed(_ partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition: Int64] {
        calls.withLock { $0.append("committed \(partitions.map(\.partition))") }
        return commits.filter { partitions.contains($0.key) }
    }
}

private func partition(_ number: Int32) -> KafkaTopicPartition { KafkaTopicPartition(topic: "payments", partition: number) }

private func batch(_ events: [KafkaConsumerEvent], offsets: [(Int32, Int64)] = []) -> KafkaConsumerBatch {
    var batch = KafkaConsumerBatch()
    batch.events = events
    batch.messages = offsets.map { KafkaConsumerMessage(topic: "payments", partition: $0.0, offset: $0.1, key: nil, value: []) }
    return batch
}

@Suite("Consumer lag")
struct ConsumerLagTests {
    @Test("lag per owned partition: from the read position, else the committed offset, else the first offset; revoked partitions drop out")
    func lagPerPartition() {
        let positions = PartitionPositions()
        positions.apply(batch([.assigned([partition(0), partition(1), partition(2), partition(3), partition(4)])]))
        positions.apply(batch([], offsets: [(0, 10), (0, 14), (1, 3), (0, 12)]))
        positions.apply(batch([.revoked([partition(2)])], offsets: [(1, 4)]))
        let offsets = FakeOffsets(
            marks: [partition(0): (0, 20), partition(1): (0, 5), partition(2): (0, 99), partition(3): (0, 10), partition(4): (2, 9)],
            commits: [partition(3): 7]
        )
        let monitor = ConsumerLagMonitor(positions: positions, offsets: offsets, metrics: EngineMetrics(), logger: Logger(label: "test"))
        let lags = monitor.measure()
        #expect(lags.map(\.partition.partition) == [0, 1, 3, 4])
        // p0 read up to 14 (next 15) of 20; p1 next 5 of 5; p3 unread, committed 7 of 10; p4 unread, nothing committed, 2...9.
        #expect(lags.map(\.lag) == [5, 0, 3, 7])
        // One call per kind for the whole round, each only for the partitions that need it.
        #expect(offsets.calls.withLock { $0 } == ["ends [0, 1, 3, 4]", "committed [3, 4]", "starts [4]"])
    }

    /// A poll lists the batch's rebalance events ahead of its messages: here p1's messages were
    /// read before p1 was revoked, and p2 was revoked and assigned again. p1 came back from its
    /// messages' offsets and its lag (99 − 8) stayed published on an instance that no longer owned it.
    @Test("a partition revoked in a batch is not put back by that batch's messages read before the revocation")
    func revokedWithItsMessagesInTheBatch() {
        let positions = PartitionPositions()
        positions.apply(batch([.assigned([partition(0), partition(1), partition(2)])], offsets: [(1, 3), (2, 5)]))
        positions.apply(batch([.revoked([partition(1), partition(2)]), .assigned([partition(2)])], offsets: [(0, 4), (1, 6), (1, 7), (2, 6)]))
        #expect(positions.snapshot.map(\.partition.partition) == [0, 2])
        #expect(positions.snapshot.map(\.next) == [5, nil], "p2 assigned again: unread until its next messages")
        let offsets = FakeOffsets(marks: [partition(0): (0, 9), partition(1): (0, 99), partition(2): (0, 12)], commits: [partition(2): 7])
        let monitor = ConsumerLagMonitor(positions: positions, offsets: offsets, metrics: EngineMetrics(), logger: Logger(label: "test"))
        #expect(monitor.measure().map { [$0.partition.partition, Int32($0.lag)] } == [[0, 4], [2, 5]])
        positions.apply(batch([], offsets: [(2, 9)]))
        #expect(positions.snapshot.map(\.next) == [5, 10])
    }

    @Test("a broker that does not answer keeps the last measured values")
    func keepsLastValues() {
        let positions = PartitionPositions()
        positions.apply(batch([.assigned([partition(0)])], offsets: [(0, 4)]))
        let offsets = FakeOffsets(marks: [partition(0): (0, 9)], commits: [:])
        let monitor = ConsumerLagMonitor(positions: positions, offsets: offsets, metrics: EngineMetrics(), logger: Logger(label: "test"))
        #expect(monitor.measure().map(\.lag) == [4])
        offsets.setFailing(true)
        positions.apply(batch([], offsets: [(0, 8)]))
        #expect(monitor.measure().map(\.lag) == [4])
        offsets.setFailing(false)
        #expect(monitor.measure().map(\.lag) == [0])
    }
}
