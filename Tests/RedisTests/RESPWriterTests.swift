import Testing
@testable import Redis

/// Commands written straight as RESP bytes must be the bytes hiredis formats from arguments.
@Suite("RESP written directly")
struct RESPWriterTests {
    @Test("Bulk strings, binary bytes and decimals give hiredis's bytes exactly", arguments: [
        Int64(0), 7, -1, 10, 99, 100, 1_785_000_123_456, Int64.max, Int64.min,
    ])
    func matchesHiredis(number: Int64) {
        let binary: [UInt8] = [0x00, 0xFF, 0x0D, 0x0A, 0x1F]
        var bytes: [UInt8] = []
        RESPWriter.appendArrayHeader(5, to: &bytes)
        RESPWriter.appendBulk("EVALSHA".utf8, to: &bytes)
        RESPWriter.appendBulk(binary, to: &bytes)
        RESPWriter.appendBulk([], to: &bytes)
        RESPWriter.appendBulk(decimal: number, to: &bytes)
        RESPWriter.appendBulkHeader(3, to: &bytes)
        bytes.append(contentsOf: "a{b".utf8)
        RESPWriter.appendCRLF(to: &bytes)

        var command = RedisCommand("EVALSHA")
        command.append(binary)
        command.append("")
        command.append(number)
        command.append("a{b")
        #expect(bytes == command.encoded)
        #expect(RESPWriter.decimalLength(number) == String(number).utf8.count)
    }

    @Test("hiredis's format is the documented one")
    func referenceFormat() {
        #expect(String(decoding: RedisCommand("SET", "k", "").encoded, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n")
    }
}
