import Foundation
import Testing
import LocalStackSupport
@testable import FraudCore

@Suite("JSON Lines reader", .temporaryFolder)
struct JSONLinesReaderTests {
    /// Writes `bytes` to a fresh file in the test's temporary folder and returns its path.
    static func temporaryFile(_ bytes: [UInt8], name: String = "events.jsonl") throws -> String {
        let url = try TemporaryFolder.current.folder("io").appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    static func event(_ n: Int) -> PaymentEvent {
        var event = EventJSON.validEvent
        event.paymentID = "p-\(n)"
        event.amount.minorUnits = Int64(n)
        return event
    }

    static func line(_ n: Int) -> String {
        String(decoding: EventEncoder().encode(event(n)), as: UTF8.self)
    }

    @Test("Lines spanning chunk boundaries, CRLF, blank lines and a last line without newline", arguments: [1, 7, 64, 333, 1 << 16])
    func splitsLines(chunkBytes: Int) throws {
        let text = Self.line(1) + "\n" + Self.line(2) + "\r\n\n   \r\n" + Self.line(3) + "\n\n" + Self.line(4)
        let path = try Self.temporaryFile(Array(text.utf8))
        let reader = try JSONLinesReader(path: path, chunkBytes: chunkBytes)
        var batches: [EventBatch] = []
        while let batch = try reader.nextBatch(maxLines: 3) { batches.append(batch) }
        #expect(batches.map(\.events.count) == [3, 1])
        #expect(batches.flatMap(\.events) == (1...4).map(Self.event))
        #expect(batches.flatMap(\.lineNumbers) == [1, 2, 5, 7])
        #expect(batches.allSatisfy { $0.errors.isEmpty })
    }

    @Test("Raw lines come with their numbers and without line endings")
    func forEachLine() throws {
        let path = try Self.temporaryFile(Array("a\r\n\nbc\n  \nd".utf8))
        var lines: [String] = []
        try JSONLinesReader(path: path, chunkBytes: 2).forEachLine { number, bytes in
            lines.append("\(number):\(String(decoding: bytes, as: UTF8.self))")
        }
        #expect(lines == ["1:a", "3:bc", "5:d"])
    }

    @Test("A bad line becomes an error with file:line and its raw bytes; reading goes on")
    func badLines() throws {
        let bad = EventJSON.valid.replacing("amount_minor", with: "12.5").text
        let text = Self.line(1) + "\n" + bad + "\n" + "{not json\n" + Self.line(4) + "\n"
        let path = try Self.temporaryFile(Array(text.utf8))
        let batch = try JSONLinesReader.readAll(path: path)
        #expect(batch.events == [Self.event(1), Self.event(4)])
        #expect(batch.lineNumbers == [1, 4])
        #expect(batch.errors.map(\.line) == [2, 3])
        #expect(batch.errors.map(\.rawLine) == [Array(bad.utf8), Array("{not json".utf8)])
        #expect(batch.errors[0].description == "\(path):2: payment \"p-17\": field \"amount_minor\": expected an integer number of minor units, got 12.5 (money is never a float: send 1250 with \"currency\": \"USD\")")
        #expect(batch.errors[1].description == "\(path):3: malformed JSON at byte 1: expected an object key (a string in double quotes), found 'n'")
    }

    @Test("A line over the limit is reported and skipped in bounded memory", arguments: [4, 50, 4096])
    func overlongLine(chunkBytes: Int) throws {
        let long = "{\"x\":\"" + String(repeating: "y", count: 500) + "\"}"
        let text = Self.line(1) + "\n" + long + "\n" + Self.line(3)
        let path = try Self.temporaryFile(Array(text.utf8))
        let reader = try JSONLinesReader(path: path, chunkBytes: chunkBytes, maxLineBytes: 400)
        let batch = try #require(try reader.nextBatch(maxLines: 10))
        #expect(batch.events == [Self.event(1), Self.event(3)])
        #expect(batch.errors.count == 1)
        #expect(batch.errors.first?.description == "\(path):2: line is 508 bytes, over the limit of 400 (one event per line; raise the reader's maxLineBytes if such events are legitimate)")
        #expect(batch.errors.first?.rawLine == Array(long.utf8.prefix(256)))
        #expect(try reader.nextBatch(maxLines: 10) == nil)
    }

    @Test("An empty file yields no batch; a missing file is a clear error")
    func emptyAndMissing() throws {
        let path = try Self.temporaryFile([])
        #expect(try JSONLinesReader(path: path).nextBatch(maxLines: 10) == nil)
        let error = try #require(throws: FileIOError.self) { try JSONLinesReader(path: "/nonexistent/events.jsonl") }
        #expect(error.description == "cannot open \"/nonexistent/events.jsonl\": No such file or directory")
    }
}
