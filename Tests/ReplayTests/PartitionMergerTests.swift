import Testing
@testable import Replay

@Suite("Partition merger")
struct PartitionMergerTests {
    typealias Position = PartitionMerger<String>.Position

    /// Three partitions' records, each partition in offset order with non-decreasing timestamps.
    static let records: [Position] = [
        Position(timestamp: 10, partition: 0, offset: 0), Position(timestamp: 30, partition: 0, offset: 1), Position(timestamp: 30, partition: 0, offset: 2),
        Position(timestamp: 20, partition: 1, offset: 0), Position(timestamp: 30, partition: 1, offset: 1),
        Position(timestamp: 5, partition: 2, offset: 0), Position(timestamp: 50, partition: 2, offset: 1),
    ]

    static let expected = ["2@0", "0@0", "1@0", "0@1", "0@2", "1@1", "2@1"]

    @Test("any delivery interleaving gives timestamp, partition, offset order", arguments: [0, 1, 2, 3, 4] as [UInt64])
    func deterministic(seed: UInt64) {
        var random = Fixtures.SplitMix(seed: seed)
        var queues = Dictionary(grouping: Self.records, by: \.partition)
        var merger = PartitionMerger<String>(partitions: [0, 1, 2])
        var out: [String] = []
        while !queues.isEmpty {
            let partition = queues.keys.sorted().randomElement(using: &random)!
            let position = queues[partition]!.removeFirst()
            merger.add("\(position.partition)@\(position.offset)", at: position)
            if queues[partition]!.isEmpty {
                queues[partition] = nil
                merger.finish(partition)
            }
            merger.release(into: &out, limit: 100)
        }
        #expect(out == Self.expected)
        #expect(merger.isDrained)
    }

    @Test("nothing is released while a partition that is not finished has nothing waiting")
    func waitsForSlowPartition() {
        var merger = PartitionMerger<String>(partitions: [0, 1])
        merger.add("0@0", at: Position(timestamp: 100, partition: 0, offset: 0))
        var out: [String] = []
        merger.release(into: &out, limit: 10)
        #expect(out.isEmpty)
        merger.add("1@0", at: Position(timestamp: 50, partition: 1, offset: 0))
        merger.release(into: &out, limit: 10)
        #expect(out == ["1@0"])
        merger.finish(1)
        merger.release(into: &out, limit: 10)
        #expect(out == ["1@0", "0@0"])
        #expect(!merger.isDrained)
        merger.finish(0)
        #expect(merger.isDrained)
    }

    @Test("release stops at the limit and resumes")
    func limit() {
        var merger = PartitionMerger<String>(partitions: [0])
        for offset in 0..<5 { merger.add("\(offset)", at: Position(timestamp: 1, partition: 0, offset: Int64(offset))) }
        merger.finish(0)
        var out: [String] = []
        merger.release(into: &out, limit: 2)
        #expect(out == ["0", "1"])
        out.removeAll()
        merger.release(into: &out, limit: 10)
        #expect(out == ["2", "3", "4"])
    }

    /// Records that did not decode have no event time: each takes its partition's previous
    /// record's time (`Int64.min` first in a partition), so it stays in its partition's order.
    @Test("records without an event time keep their place in their partition, in any delivery interleaving", arguments: [0, 1, 2, 3] as [UInt64])
    func recordsWithoutTime(seed: UInt64) {
        // (partition, offset, event time or nil)
        let records: [(Int32, Int64, Int64?)] = [
            (0, 0, nil), (0, 1, 10), (0, 2, nil), (0, 3, 40),
            (1, 0, 5), (1, 1, 20), (1, 2, nil), (1, 3, 30),
        ]
        var random = Fixtures.SplitMix(seed: seed)
        var queues = Dictionary(grouping: records, by: \.0)
        var merger = PartitionMerger<String>(partitions: [0, 1])
        var out: [String] = []
        while !queues.isEmpty {
            let partition = queues.keys.sorted().randomElement(using: &random)!
            let (_, offset, time) = queues[partition]!.removeFirst()
            merger.add("\(partition)@\(offset)", partition: partition, offset: offset, eventTime: time)
            if queues[partition]!.isEmpty {
                queues[partition] = nil
                merger.finish(partition)
            }
            merger.release(into: &out, limit: 100)
        }
        // 0@0 at min; 1@0 at 5; 0@1 at 10 and 0@2 (no time) at 10; 1@1 at 20, 1@2 (no time) at 20; 1@3 at 30; 0@3 at 40.
        #expect(out == ["0@0", "1@0", "0@1", "0@2", "1@1", "1@2", "1@3", "0@3"])
    }
}
