import CHiredis

/// One Redis command as binary-safe arguments, stored flat (one byte buffer plus end offsets) so
/// that building a pipeline of thousands of commands costs two arrays per command, and sending it
/// needs no per-argument allocation.
public struct RedisCommand: Sendable, Hashable {
    private var bytes: [UInt8] = []
    private var ends: [Int] = []

    /// A command with its name and text arguments: `RedisCommand("SET", "k", "v")`.
    public init(_ name: String, _ arguments: String...) {
        append(name)
        for argument in arguments { append(argument) }
    }

    /// A command from binary arguments, the first being the command name.
    public init(arguments: [[UInt8]]) {
        for argument in arguments { append(argument) }
    }

    public mutating func append(_ argument: some Collection<UInt8>) {
        bytes.append(contentsOf: argument)
        ends.append(bytes.count)
    }

    public mutating func append(_ argument: String) { append(argument.utf8) }

    /// Appends an integer as its decimal text, as Redis expects.
    public mutating func append(_ argument: Int64) { append(String(argument)) }

    public mutating func append(_ argument: Int) { append(String(argument)) }

    /// A copy with one more argument, for building commands in expressions.
    public func appending(_ argument: some Collection<UInt8>) -> RedisCommand {
        var copy = self
        copy.append(argument)
        return copy
    }

    public var argumentCount: Int { ends.count }

    public var arguments: [[UInt8]] {
        var start = 0
        return ends.map { end in
            defer { start = end }
            return Array(bytes[start..<end])
        }
    }

    /// The command name as text, for error messages.
    public var name: String {
        guard let end = ends.first else { return "" }
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }

    /// Calls `body` with argv-style pointers and lengths, valid only during the call.
    func withArgv<Result>(
        scratch: inout ArgvScratch,
        _ body: (_ count: Int32, _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>, _ lengths: UnsafePointer<Int>) -> Result
    ) -> Result {
        bytes.withUnsafeBufferPointer { buffer in
            // An all-empty command has no storage; hiredis copies zero bytes from any pointer.
            let base = UnsafeRawPointer(buffer.baseAddress) ?? UnsafeRawPointer(ArgvScratch.emptyArgument)
            scratch.pointers.removeAll(keepingCapacity: true)
            scratch.lengths.removeAll(keepingCapacity: true)
            var start = 0
            for end in ends {
                scratch.pointers.append((base + start).assumingMemoryBound(to: CChar.self))
                scratch.lengths.append(end - start)
                start = end
            }
            return scratch.pointers.withUnsafeMutableBufferPointer { argv in
                scratch.lengths.withUnsafeBufferPointer { lengths in
                    body(Int32(ends.count), argv.baseAddress!, lengths.baseAddress!)
                }
            }
        }
    }
}

/// Reused argv arrays, so a pipeline allocates them once rather than per command.
struct ArgvScratch {
    var pointers: [UnsafePointer<CChar>?] = []
    var lengths: [Int] = []
    nonisolated(unsafe) static let emptyArgument = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
}

extension RedisCommand {
    /// The command as RESP, formatted by hiredis exactly as `RedisConnection.pipeline(_:)` sends it:
    /// the reference for commands built directly as bytes (`RESPWriter`).
    public var encoded: [UInt8] {
        var scratch = ArgvScratch()
        return withArgv(scratch: &scratch) { count, argv, lengths in
            var target: UnsafeMutablePointer<CChar>?
            let length = redisFormatCommandArgv(&target, count, argv, lengths)
            guard length >= 0, let target else { return [] }
            defer { redisFreeCommand(target) }
            return Array(UnsafeRawBufferPointer(start: target, count: Int(length)))
        }
    }
}
