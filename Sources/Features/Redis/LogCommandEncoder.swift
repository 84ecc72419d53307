import FraudCore
import Redis

/// Writes one batch's `EVALSHA` of `LogScript` as RESP into one reusable buffer: keys, the packed
/// per-entity cursors and the entries go straight from the events into the bytes sent, with no
/// argument arrays, key strings or entry strings in between.
///
/// The bytes are those of `LogScript.script.invocation(keys:arguments:)` with the keys and
/// arguments `LogScript` documents (`RedisLogCommandTests` checks them byte for byte).
struct LogCommandEncoder {
    private(set) var bytes: [UInt8] = []
    private var entry: [UInt8] = []

    /// The name parts of each key field's logs: `prefix{field:` and `}:tag`; the value goes between.
    struct KeyLayout {
        var heads: [[UInt8]] = []
        var tails: [[UInt8]] = []

        init() {}

        init(prefix: String, fields: [EventField], tags: [String]) {
            heads = fields.map { Array("\(prefix){\($0.name):".utf8) }
            tails = tags.map { Array("}:\($0)".utf8) }
        }

        /// The key name as text (error messages).
        func name(group: Int, value: String) -> String {
            String(decoding: heads[group], as: UTF8.self) + value + String(decoding: tails[group], as: UTF8.self)
        }
    }

    /// What one call carries besides the batch.
    struct Call {
        var mode: StoreMode
        var retention: Int64
        var ttl: Int64
        /// The epoch of the logs this call creates.
        var freshEpoch: Int64
        /// The key the script keeps an update's reply under; nil in read-only mode.
        var replyKey: String?
    }

    mutating func encode(
        _ call: Call, batch: BatchEntities, events: UnsafeBufferPointer<PaymentEvent>, layout: KeyLayout, codecs: [LogEntryCodec],
        cursors: EntityCursors
    ) {
        bytes.removeAll(keepingCapacity: true)
        let update = call.mode == .update
        let keyCount = batch.count + (call.replyKey == nil ? 0 : 1)
        let argumentCount = 4 + batch.count + (update ? batch.members.count : 0)
        RESPWriter.appendArrayHeader(3 + keyCount + argumentCount, to: &bytes)
        RESPWriter.appendBulk("EVALSHA".utf8, to: &bytes)
        RESPWriter.appendBulk(LogScript.script.sha1.utf8, to: &bytes)
        RESPWriter.appendBulk(decimal: Int64(keyCount), to: &bytes)
        for entity in batch.entities {
            let head = layout.heads[entity.group], tail = layout.tails[entity.group]
            RESPWriter.appendBulkHeader(head.count + entity.value.utf8.count + tail.count, to: &bytes)
            bytes.append(contentsOf: head)
            bytes.append(contentsOf: entity.value.utf8)
            bytes.append(contentsOf: tail)
            RESPWriter.appendCRLF(to: &bytes)
        }
        if let replyKey = call.replyKey { RESPWriter.appendBulk(replyKey.utf8, to: &bytes) }
        RESPWriter.appendBulk(decimal: call.retention, to: &bytes)
        RESPWriter.appendBulk(decimal: call.ttl, to: &bytes)
        RESPWriter.appendBulk(decimal: update ? 2 : 1, to: &bytes)
        RESPWriter.appendBulk(decimal: call.freshEpoch, to: &bytes)
        for (e, entity) in batch.entities.enumerated() {
            let cursor = cursors[entity.group, entity.value]
            RESPWriter.appendBulkHeader(32, to: &bytes)
            Self.appendPacked(cursor?.epoch ?? 0, to: &bytes)
            Self.appendPacked(cursor?.end ?? 0, to: &bytes)
            Self.appendPacked(update ? Int64(entity.count) : 0, to: &bytes)
            Self.appendPacked(update ? entity.newest : 0, to: &bytes)
            RESPWriter.appendCRLF(to: &bytes)
            guard update else { continue }
            let codec = codecs[entity.group]
            for i in batch.events(of: e) {
                entry.removeAll(keepingCapacity: true)
                codec.encode(events.baseAddress! + i, into: &entry)
                RESPWriter.appendBulk(entry, to: &bytes)
            }
        }
    }

    /// An integer below 2^53 as a big-endian IEEE double, Lua's `struct.pack('>d')`.
    static func appendPacked(_ value: Int64, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: Double(value).bitPattern.bigEndian) { bytes.append(contentsOf: $0) }
    }
}
