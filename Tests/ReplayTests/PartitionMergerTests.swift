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
}
