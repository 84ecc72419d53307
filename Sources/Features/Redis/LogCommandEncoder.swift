import FraudCore
import Redis

/// Writes the store's commands as RESP into reusable buffers: keys, packed cursors and entries go
/// straight from the events into the bytes sent, with no argument arrays, key strings or entry
/// strings in between.
///
/// - `encodeAppend`: the hot path, `MULTI`, per entity `RPUSHX key entries…` and `LINDEX key 0`, `EXEC`.
/// - `encode`: an `EVALSHA` of `LogScript.script` for some of the batch's entities (entities new to
///   this instance, lists that are missing, read-only batches, the retry after a lost reply).
/// - `encodeRead`, `encodeMaintenance`: `EVALSHA` of `LogScript.read` and `LogScript.maintenance`.
///
/// The bytes are those hiredis formats for the same commands built from argument arrays, with the
/// keys and arguments `LogScript` documents (`RedisLogCommandTests` checks them byte for byte).
struct LogCommandEncoder {
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

        /// The key of `entity` as one bulk string.
        func appendKey(_ entity: BatchEntities.Entity, to bytes: inout [UInt8]) {
            let head = heads[entity.group], tail = tails[entity.group]
            RESPWriter.appendBulkHeader(head.count + entity.value.utf8.count + tail.count, to: &bytes)
            bytes.append(contentsOf: head)
            bytes.append(contentsOf: entity.value.utf8)
            bytes.append(contentsOf: tail)
            RESPWriter.appendCRLF(to: &bytes)
        }
    }

    /// What one `LogScript.script` call carries besides the entities.
    struct Call {
        var action: LogScript.Action
        var retention: Int64
        var ttl: Int64
        /// The epoch of the logs this call creates.
        var freshEpoch: Int64
    }

    private static let multi = Array("*1\r\n$5\r\nMULTI\r\n".utf8)
    private static let exec = Array("*1\r\n$4\r\nEXEC\r\n".utf8)
    private static let rpushx = Array("$6\r\nRPUSHX\r\n".utf8)
    private static let lindex = Array("*3\r\n$6\r\nLINDEX\r\n".utf8)
    private static let zero = Array("$1\r\n0\r\n".utf8)

    /// How many replies `encodeAppend`'s block gets: `OK`, one `QUEUED` per command, the `EXEC` array.
    static func appendReplies(entities: Int) -> Int { 2 + 2 * entities }

    /// The hot path, for the batch's entities at `indices`: `MULTI`, then per entity
    /// `RPUSHX key e1 … em` and `LINDEX key 0`, then `EXEC`. `RPUSHX` appends nothing to a missing
    /// list (reply 0).
    mutating func encodeAppend(
        batch: BatchEntities, indices: [Int], events: UnsafeBufferPointer<PaymentEvent>, layout: KeyLayout, codecs: [LogEntryCodec],
        into bytes: inout [UInt8]
    ) {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: Self.multi)
        for e in indices {
            let entity = batch.entities[e]
            RESPWriter.appendArrayHeader(2 + entity.count, to: &bytes)
            bytes.append(contentsOf: Self.rpushx)
            layout.appendKey(entity, to: &bytes)
            appendEntries(of: e, batch: batch, events: events, codec: codecs[entity.group], to: &bytes)
            bytes.append(contentsOf: Self.lindex)
            layout.appendKey(entity, to: &bytes)
            bytes.append(contentsOf: Self.zero)
        }
        bytes.append(contentsOf: Self.exec)
    }

    /// `EVALSHA` of `LogScript.script` for the batch's entities at `indices`, in that order.
    mutating func encode(
        _ call: Call, batch: BatchEntities, indices: some Collection<Int>, events: UnsafeBufferPointer<PaymentEvent>, layout: KeyLayout,
        codecs: [LogEntryCodec], cursors: EntityCursors, into bytes: inout [UInt8]
    ) {
        bytes.removeAll(keepingCapacity: true)
        let append = call.action != .readOnly
        let entryCount = append ? indices.reduce(0) { $0 + batch.entities[$1].count } : 0
        Self.appendEvalSHA(LogScript.script, keys: indices.count, arguments: 4 + indices.count + entryCount, to: &bytes)
        for e in indices { layout.appendKey(batch.entities[e], to: &bytes) }
        RESPWriter.appendBulk(decimal: call.retention, to: &bytes)
        RESPWriter.appendBulk(decimal: call.ttl, to: &bytes)
        RESPWriter.appendBulk(decimal: call.action.rawValue, to: &bytes)
        RESPWriter.appendBulk(decimal: call.freshEpoch, to: &bytes)
        for e in indices {
            let entity = batch.entities[e]
            let cursor = cursors[entity.group, entity.value]
            Self.appendPackedBulk([cursor?.epoch ?? 0, cursor?.end ?? 0, append ? Int64(entity.count) : 0, append ? entity.newest : 0], to: &bytes)
            if append { appendEntries(of: e, batch: batch, events: events, codec: codecs[entity.group], to: &bytes) }
        }
    }

    /// One range to read with `LogScript.read`: the batch's entity, the epoch its append saw and
    /// the absolute range [from, before).
    struct ReadRequest {
        var entity: Int
        var epoch: Int64
        var from: Int64
        var before: Int64
    }

    /// `EVALSHA` of `LogScript.read` for `requests`.
    static func encodeRead(_ requests: [ReadRequest], batch: BatchEntities, layout: KeyLayout, into bytes: inout [UInt8]) {
        bytes.removeAll(keepingCapacity: true)
        appendEvalSHA(LogScript.read, keys: requests.count, arguments: requests.count, to: &bytes)
        for request in requests { layout.appendKey(batch.entities[request.entity], to: &bytes) }
        for request in requests { appendPackedBulk([request.epoch, request.from, request.before], to: &bytes) }
    }

    /// One entity's upkeep with `LogScript.maintenance`: the batch's entity (its key and newest
    /// time come from the batch) and the epoch the append saw.
    struct MaintenanceRequest {
        var entity: Int
        var epoch: Int64
    }

    /// `EVALSHA` of `LogScript.maintenance` for `requests`.
    static func encodeMaintenance(
        _ requests: [MaintenanceRequest], retention: Int64, ttl: Int64, batch: BatchEntities, layout: KeyLayout, into bytes: inout [UInt8]
    ) {
        bytes.removeAll(keepingCapacity: true)
        appendEvalSHA(LogScript.maintenance, keys: requests.count, arguments: 2 + requests.count, to: &bytes)
        for request in requests { layout.appendKey(batch.entities[request.entity], to: &bytes) }
        RESPWriter.appendBulk(decimal: retention, to: &bytes)
        RESPWriter.appendBulk(decimal: ttl, to: &bytes)
        for request in requests { appendPackedBulk([request.epoch, batch.entities[request.entity].newest], to: &bytes) }
    }

    private mutating func appendEntries(
        of e: Int, batch: BatchEntities, events: UnsafeBufferPointer<PaymentEvent>, codec: LogEntryCodec, to bytes: inout [UInt8]
    ) {
        for i in batch.events(of: e) {
            entry.removeAll(keepingCapacity: true)
            codec.encode(events.baseAddress! + i, into: &entry)
            RESPWriter.appendBulk(entry, to: &bytes)
        }
    }

    /// `*n\r\n` `EVALSHA sha1 numkeys`; the keys and arguments follow.
    private static func appendEvalSHA(_ script: RedisScript, keys: Int, arguments: Int, to bytes: inout [UInt8]) {
        RESPWriter.appendArrayHeader(3 + keys + arguments, to: &bytes)
        RESPWriter.appendBulk("EVALSHA".utf8, to: &bytes)
        RESPWriter.appendBulk(script.sha1.utf8, to: &bytes)
        RESPWriter.appendBulk(decimal: Int64(keys), to: &bytes)
    }

    /// Integers below 2^53 as one bulk string of big-endian IEEE doubles, Lua's `struct.pack('>d…')`.
    private static func appendPackedBulk(_ values: [Int64], to bytes: inout [UInt8]) {
        RESPWriter.appendBulkHeader(8 * values.count, to: &bytes)
        for value in values { appendPacked(value, to: &bytes) }
        RESPWriter.appendCRLF(to: &bytes)
    }

    /// An integer below 2^53 as a big-endian IEEE double, Lua's `struct.pack('>d')`.
    static func appendPacked(_ value: Int64, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: Double(value).bitPattern.bigEndian) { bytes.append(contentsOf: $0) }
    }
}
