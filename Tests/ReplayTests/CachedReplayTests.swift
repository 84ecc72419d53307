import Foundation
import FraudCore
import Replay
import Testing
import LocalStackSupport

/// `--cache`: the run that writes the cache and the run that reads it decide exactly like a run
/// on the JSON Lines file, rejected lines included.
@Suite("Replay from the pre-decoded cache", .serialized, .temporaryFolder)
struct CachedReplayTests {
    /// The 20,000 simulated events with three malformed lines among them.
    static func inputWithBadLines() throws -> String {
        let path = ReplayLoopTests.temporaryPath("sim-20k-bad.jsonl")
        let lines = try String(contentsOfFile: try EngineReplayTests.simulatedInput(), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        var text = ""
        for (index, line) in lines.enumerated() {
            if index == 0 || index == 9_999 { text += "{\"payment_id\": oops}\n" }
            if index == 15_000 { text += line.replacingOccurrences(of: "\"amount_minor\":", with: "\"amount_minor\":0.5,\"x\":") + "\n" }
            text += line + (index == lines.count - 1 ? "" : "\n")
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func replay(input: String, cache: String?, workers: Int, decisionsOut: String) async throws -> (ReplayResult, [String], CachedEventSource.Mode?) {
        var (replay, _) = EngineReplaySetup(baseline: try EngineReplayTests.defaultScoring()).make()
        replay.batchSize = 500
        replay.overlapsBatches = workers > 1  // as `waqiti replay --workers` sets it
        var rejected: [String] = []
        let next: DecisionReplay.NextBatch
        var mode: CachedEventSource.Mode?
        if let cache {
            let source = try CachedEventSource(input: input, cache: cache) {
                let reader = try JSONLinesReader(path: input)
                return ({ try reader.nextBatch(maxLines: $0) }, { reader.bytesRead })
            }
            mode = source.mode
            next = { try source.nextBatch(maxEvents: $0) }
        } else if workers > 1 {
            let source = PipelinedEventSource(reader: try JSONLinesReader(path: input), workers: workers - 1)
            next = { try source.nextBatch(maxEvents: $0) }
        } else {
            next = try ReplayLoopTests.reader(input)
        }
        let output = try FileOutput(path: decisionsOut)
        let result = try await replay.run(from: next, decisionsOut: output, onBadLine: { rejected.append($0.description) })
        try output.close()
        return (result, rejected, mode)
    }

    @Test("writing the cache and reading it back give the JSON Lines run's decisions, summary and rejected lines, byte for byte")
    func cacheGivesIdenticalDecisions() async throws {
        let input = try Self.inputWithBadLines()
        let cache = ReplayLoopTests.temporaryPath("sim-20k-bad.wqc")
        let plainPath = ReplayLoopTests.temporaryPath("plain.decisions.jsonl")
        let writingPath = ReplayLoopTests.temporaryPath("cache-writing.decisions.jsonl")
        let readingPath = ReplayLoopTests.temporaryPath("cache-reading.decisions.jsonl")

        let plain = try await Self.replay(input: input, cache: nil, workers: 1, decisionsOut: plainPath)
        let writing = try await Self.replay(input: input, cache: cache, workers: 1, decisionsOut: writingPath)
        let reading = try await Self.replay(input: input, cache: cache, workers: 1, decisionsOut: readingPath)

        #expect(writing.2 == .writing)
        #expect(reading.2 == .reading)
        #expect(plain.0.baseline.summary.events == 20_000)
        #expect(plain.0.baseline.summary.rejected == 3)
        #expect(plain.1.count == 3)
        #expect(plain.1.first?.hasPrefix("\(input):1: ") == true)
        let expected = try Data(contentsOf: URL(fileURLWithPath: plainPath))
        #expect(expected.count > 1_000_000)
        #expect(try Data(contentsOf: URL(fileURLWithPath: writingPath)) == expected)
        #expect(try Data(contentsOf: URL(fileURLWithPath: readingPath)) == expected)
        #expect(writing.0.baseline.summary == plain.0.baseline.summary)
        #expect(reading.0.baseline.summary == plain.0.baseline.summary)
        #expect(writing.1 == plain.1)
        #expect(reading.1 == plain.1)
    }

    @Test("--workers with a malformed line: decoding on 2 and 3 threads gives the one-thread decisions and rejected lines", arguments: [2, 3])
    func workersWithBadLines(workers: Int) async throws {
        let input = try Self.inputWithBadLines()
        let onePath = ReplayLoopTests.temporaryPath("bad-1.decisions.jsonl"), manyPath = ReplayLoopTests.temporaryPath("bad-\(workers).decisions.jsonl")
        let one = try await Self.replay(input: input, cache: nil, workers: 1, decisionsOut: onePath)
        let many = try await Self.replay(input: input, cache: nil, workers: workers, decisionsOut: manyPath)
        #expect(many.1.count == 3)
        #expect(many.1 == one.1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: manyPath)) == (try Data(contentsOf: URL(fileURLWithPath: onePath))))
        #expect(many.0.baseline.summary == one.0.baseline.summary)
    }
}
