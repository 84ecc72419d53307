import Foundation
import Testing
import LocalStackSupport
@testable import FraudCore

/// The pre-decoded cache: what goes in comes back identical (events, line numbers, rejected lines,
/// batch boundaries), and a cache that does not match its input or is damaged is refused with a
/// message that says what is wrong.
@Suite("Event cache", .serialized, .temporaryFolder)
struct EventCacheTests {
    static func path(_ name: String) -> String { TemporaryFolder.current.path(name) }

    /// The unfinished copies of the cache at `path` in its folder (`FileOutput`'s hidden
    /// temporary files, `.NAME.PID-N.tmp`).
    static func unfinishedCopies(of path: String) throws -> [String] {
        let url = URL(fileURLWithPath: path)
        let name = url.lastPathComponent
        return try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
            .filter { $0.hasPrefix(".\(name).") && $0.hasSuffix(".tmp") }
    }

    /// 2,600 lines (several cache blocks): events with and without beneficiary, metadata and label,
    /// every channel and type, non-ASCII ids, a blank line and five malformed lines, one too long.
    static func writeInput(_ name: String) throws -> String {
        let path = path(name)
        let output = try FileOutput(path: path)
        let encoder = EventEncoder()
        for index in 0..<2_600 {
            var event = EventJSON.validEvent
            event.paymentID = index % 97 == 0 ? "pé-\(index)-ünïcode-longer-than-fifteen" : "p-\(index)"
            event.occurredAt = EventTime(millisecondsSinceEpoch: 1_795_940_130_123 + Int64(index) * 1_337)
            event.accountID = "acc_\(index % 41)"
            event.amount = Money(minorUnits: Int64(index * 7_919 % 1_000_000), currency: index % 5 == 0 ? Currency("JPY")! : .usd)
            event.channel = Channel.allCases[index % Channel.allCases.count]
            event.type = PaymentType.allCases[index % PaymentType.allCases.count]
            event.beneficiaryID = index % 3 == 0 ? "ben_\(index)" : nil
            event.metadata = index % 4 == 0 ? ["scenario": "card_testing", "z": "last", "a": "first \(index)"] : [:]
            event.label = index % 6 == 0 ? .fraud : (index % 6 == 1 ? nil : .legit)
            try output.append { buffer in
                encoder.append(event, to: &buffer)
                buffer.append(0x0A)
            }
            switch index {
            case 10: try output.write(Array("\n".utf8))
            case 500: try output.write(Array("{\"payment_id\": oops}\n".utf8))
            case 1_200: try output.write(Array(EventJSON.valid.replacing("amount_minor", with: "12.5").text.utf8) + [0x0A])
            case 1_201: try output.write(Array(EventJSON.valid.removing("currency").text.utf8) + [0x0A])
            case 2_000: try output.write(Array(("{\"payment_id\":\"" + String(repeating: "x", count: 5_000) + "\"}\n").utf8))
            case 2_599: try output.write(Array("not json".utf8))
            default: break
            }
        }
        try output.close()
        return path
    }

    static func batches(_ next: (Int) throws -> EventBatch?, size: Int) throws -> [EventBatch] {
        var all: [EventBatch] = []
        while let batch = try next(size) { all.append(batch) }
        return all
    }

    static func buildCache(input: String, cache: String, batchSize: Int = 333, maxLineBytes: Int = 4_096) throws -> [EventBatch] {
        let reader = try JSONLinesReader(path: input, maxLineBytes: maxLineBytes)
        // 64 KiB blocks: the 2,600 lines (about 300 KB cached) span several.
        let writer = try EventCacheWriter(path: cache, source: try EventCacheStamp(path: input), blockBytes: 64 * 1024)
        let batches = try batches({ try reader.nextBatch(maxLines: $0) }, size: batchSize)
        for batch in batches { try writer.append(batch) }
        try writer.finish()
        return batches
    }

    @Test("A cache gives back the reader's batches exactly: events, line numbers, rejected lines and boundaries", arguments: [1, 333, 1_024])
    func roundTrip(batchSize: Int) throws {
        let input = try Self.writeInput("round-\(batchSize).jsonl"), cache = Self.path("round-\(batchSize).wqc")
        let decoded = try Self.buildCache(input: input, cache: cache, batchSize: batchSize)
        #expect(try Self.unfinishedCopies(of: cache) == [])
        let reader = try EventCacheReader(path: cache, inputName: input, source: try EventCacheStamp(path: input))
        let cached = try Self.batches({ try reader.nextBatch(maxLines: $0) }, size: batchSize)

        #expect(decoded.reduce(0) { $0 + $1.events.count } == 2_600)
        #expect(decoded.reduce(0) { $0 + $1.errors.count } == 5)
        #expect(cached.count == decoded.count)
        let mismatched = zip(decoded, cached).filter { $0.0 != $0.1 }.count
        #expect(mismatched == 0)
        #expect(cached.last?.errors.last?.description == decoded.last?.errors.last?.description)
        #expect(reader.bytesRead == reader.totalBytes)
    }

    @Test("Building the same cache twice gives the same bytes (metadata written in key order)")
    func deterministicBytes() throws {
        let input = try Self.writeInput("same.jsonl"), first = Self.path("same-1.wqc"), second = Self.path("same-2.wqc")
        _ = try Self.buildCache(input: input, cache: first)
        _ = try Self.buildCache(input: input, cache: second)
        let a = try Data(contentsOf: URL(fileURLWithPath: first)), b = try Data(contentsOf: URL(fileURLWithPath: second))
        #expect(a.count > 64)
        #expect(a == b)
    }

    @Test("A cache of an input that has changed since is refused as stale, naming both versions")
    func staleInput() throws {
        let input = try Self.writeInput("stale.jsonl"), cache = Self.path("stale.wqc")
        _ = try Self.buildCache(input: input, cache: cache)
        let before = try EventCacheStamp(path: input)
        let handle = try #require(FileHandle(forWritingAtPath: input))
        handle.seekToEndOfFile()
        handle.write(Data("\n".utf8))
        handle.closeFile()
        let after = try EventCacheStamp(path: input)
        let error = try #require(throws: EventCacheError.self) { try EventCacheReader(path: cache, inputName: input, source: after) }
        #expect(error.problem == .stale)
        #expect(error.description == "cache \"\(cache)\" is stale: it was built from an input of \(before), and --input \"\(input)\" is \(after); delete it (it is rebuilt from --input on the next run) or name another file with --cache")
        #expect(after.bytes == before.bytes + 1)
    }

    /// Damage at the header, in the middle of a block, and a cut-off end, each found before any event is read.
    @Test("A damaged or truncated cache is refused before anything is read", arguments: [
        ("header", "cache \"%@\" is corrupt: the header fails its checksum; delete it (it is rebuilt from --input on the next run)"),
        ("block", "cache \"%@\" is corrupt: block 1 at byte 64 fails its checksum; delete it (it is rebuilt from --input on the next run)"),
        ("truncated", "cache \"%@\" is corrupt: cut short at byte %d: block %d or the end marker is missing; delete it (it is rebuilt from --input on the next run)"),
        ("signature", "--cache \"%@\" is not an event cache written by waqiti replay: it does not start with the cache signature WQTICACH; name another file with --cache (one that does not exist yet is written during the replay)"),
    ])
    func damaged(damage: String, message: String) throws {
        let input = try Self.writeInput("damaged-\(damage).jsonl"), cache = Self.path("damaged-\(damage).wqc")
        _ = try Self.buildCache(input: input, cache: cache)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: cache)))
        var blocks = 0
        var offset = 64
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
            let length = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self) }
            if count != .max { blocks += 1 }
            offset += 16 + Int(length)
        }
        #expect(blocks >= 2)
        switch damage {
        case "header": bytes[20] ^= 0x01
        case "block": bytes[64 + 16 + 100] ^= 0x40
        case "truncated": bytes.removeLast(20)
        default: bytes[0] = UInt8(ascii: "X")
        }
        try Data(bytes).write(to: URL(fileURLWithPath: cache))
        let error = try #require(throws: EventCacheError.self) {
            try EventCacheReader(path: cache, inputName: input, source: try EventCacheStamp(path: input))
        }
        let expected = message.replacingOccurrences(of: "%@", with: cache)
            .replacingOccurrences(of: "%d: block %d", with: "\(bytes.count): block \(blocks + 1)")
        #expect(error.description == expected)
    }

    @Test("A cache needs a regular input file to be checked against")
    func standardInputRefused() throws {
        let error = try #require(throws: EventCacheError.self) { try EventCacheStamp(path: "-") }
        #expect(error.description == "--cache cannot be used with --input \"-\": a cache needs a regular file to check it against (not standard input, a pipe or a missing file)")
    }

    @Test("A writer that does not finish leaves an older cache at its path as it was")
    func abandonedWriterKeepsOlderCache() throws {
        let input = try Self.writeInput("older.jsonl"), cache = Self.path("older.wqc")
        _ = try Self.buildCache(input: input, cache: cache)
        let before = try Data(contentsOf: URL(fileURLWithPath: cache))
        do {
            let writer = try EventCacheWriter(path: cache, source: try EventCacheStamp(path: input))
            let reader = try JSONLinesReader(path: input)
            try writer.append(try #require(try reader.nextBatch(maxLines: 10)))
            writer.abandon()
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: cache)) == before)
        #expect(try Self.unfinishedCopies(of: cache) == [])
    }

    @Test("A writer that does not finish leaves no cache behind")
    func abandonedWriterLeavesNothing() throws {
        let input = try Self.writeInput("abandon.jsonl"), cache = Self.path("abandon.wqc")
        do {
            let writer = try EventCacheWriter(path: cache, source: try EventCacheStamp(path: input))
            let reader = try JSONLinesReader(path: input)
            try writer.append(try #require(try reader.nextBatch(maxLines: 100)))
            let copies = try Self.unfinishedCopies(of: cache), published = access(cache, F_OK) == 0
            withExtendedLifetime(writer) {}
            #expect(copies.count == 1)
            #expect(!published)
        }
        #expect(try Self.unfinishedCopies(of: cache) == [])
        #expect(access(cache, F_OK) != 0)
    }
}
