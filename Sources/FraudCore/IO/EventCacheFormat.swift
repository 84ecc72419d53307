import Glibc

/// The layout of a pre-decoded event cache (`waqiti replay --cache F.wqc`), shared by
/// `EventCacheWriter` and `EventCacheReader`. All integers are little-endian.
///
///     header   64 bytes: magic "WQTICACH", version u32, header size u32, source size u64,
///              source mtime seconds i64 and nanoseconds i64, schema u64, reserved u64,
///              checksum u64 of the 56 bytes before it
///     block    record count u32, payload bytes u32, checksum u64 of the payload, payload
///     ...
///     end      a block whose record count is `endMarker`: payload = total records u64, blocks u64
///
/// Records are in input order, one per non-blank input line: an event (its fields, strings as
/// length-prefixed UTF-8) or a rejected line (its error and raw bytes), so a replay from the cache
/// sees the same batches, line numbers and errors as one from the input.
enum EventCacheFormat {
    static let magic: [UInt8] = Array("WQTICACH".utf8)
    /// Bumped whenever the record layout changes; older caches are then rejected as stale.
    static let version: UInt32 = 1
    static let headerBytes = 64
    static let blockHeaderBytes = 16
    static let endMarker: UInt32 = .max
    /// A block is closed once its payload reaches this size (bounded memory on both sides).
    static let targetBlockBytes = 1 << 20

    /// The enums' cases in stored order, held once (`allCases` builds a new array per call).
    static let channels = Channel.allCases
    static let types = PaymentType.allCases
    static let labels = Label.allCases

    static let eventRecord: UInt8 = 0
    static let errorRecord: UInt8 = 1

    /// Enum cases are stored by position; this fingerprint of their order makes a cache written by
    /// a build with other cases stale instead of silently misread.
    static let schema: UInt64 = {
        let text = channels.map(\.rawValue).joined(separator: ",") + "|"
            + types.map(\.rawValue).joined(separator: ",") + "|"
            + labels.map(\.rawValue).joined(separator: ",")
        return Array(text.utf8).withUnsafeBufferPointer { checksum(UnsafeRawBufferPointer($0)) }
    }()

    /// A 64-bit checksum, eight bytes per step. Each step is a bijection of the running state, so
    /// any change confined to one word is always detected; it guards against truncation and disk or
    /// copy damage, not against deliberate tampering.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var state: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(bytes.count)
        var offset = 0
        while offset + 8 <= bytes.count {
            state = mix(state, bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < bytes.count {
            var tail: UInt64 = 0
            for index in offset..<bytes.count { tail |= UInt64(bytes[index]) << (8 * UInt64(index - offset)) }
            state = mix(state, tail)
        }
        return mix(state, 0x1357_9BDF_2468_ACE0)
    }

    @inline(__always)
    private static func mix(_ state: UInt64, _ word: UInt64) -> UInt64 {
        let product = (state ^ word) &* 0x9E37_79B9_7F4A_7C15
        return product ^ (product >> 29)
    }
}

/// Which input a cache was built from: size and modification time, compared on every open.
public struct EventCacheStamp: Hashable, Sendable, CustomStringConvertible {
    public var bytes: UInt64
    public var modifiedSeconds: Int64
    public var modifiedNanoseconds: Int64

    public init(bytes: UInt64, modifiedSeconds: Int64, modifiedNanoseconds: Int64) {
        self.bytes = bytes
        self.modifiedSeconds = modifiedSeconds
        self.modifiedNanoseconds = modifiedNanoseconds
    }

    /// The regular file at `path`; throws for stdin, pipes and missing files.
    public init(path: String) throws(EventCacheError) {
        var info = stat()
        guard path != "-", stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw EventCacheError(path: path, problem: .unusableInput, detail: "a cache needs a regular file to check it against (not standard input, a pipe or a missing file)")
        }
        self.init(bytes: UInt64(info.st_size), modifiedSeconds: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec))
    }

    public var description: String {
        let time = EventTime(millisecondsSinceEpoch: modifiedSeconds * 1000 + modifiedNanoseconds / 1_000_000)
        return "\(bytes) bytes, modified \(RFC3339.format(time))"
    }
}

/// A cache that cannot be used: what is wrong, where, and what to do about it.
public struct EventCacheError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Problem: String, Hashable, Sendable {
        /// Not a cache file, or written by another format version or build.
        case notACache
        /// Built from a different version of the input file.
        case stale
        /// Damaged or cut short: a checksum or a length does not add up.
        case corrupt
        /// The input is not a regular file (`path` is the input), so no cache can stand for it.
        case unusableInput
    }

    public var path: String
    public var problem: Problem
    public var detail: String

    public init(path: String, problem: Problem, detail: String) {
        self.path = path
        self.problem = problem
        self.detail = detail
    }

    public var description: String {
        switch problem {
        // Not "delete it": a file that is not a cache may be anything, the input itself included.
        case .notACache: "--cache \"\(path)\" is not an event cache written by waqiti replay: \(detail); name another file with --cache (one that does not exist yet is written during the replay)"
        case .stale: "cache \"\(path)\" is stale: \(detail); delete it (it is rebuilt from --input on the next run) or name another file with --cache"
        case .corrupt: "cache \"\(path)\" is corrupt: \(detail); delete it (it is rebuilt from --input on the next run)"
        case .unusableInput: "--cache cannot be used with --input \"\(path)\": \(detail)"
        }
    }
}
