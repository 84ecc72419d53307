/// Encodes and decodes one cache record (see `EventCacheFormat`). Fixed-width fields first, then
/// length-prefixed strings, so reading an event is a few loads and one `String` per identifier
/// (no allocation for the usual ids of up to 15 bytes) with no JSON scanning or validation.
enum EventCacheRecord {
    // MARK: Writing

    static func append(event: PaymentEvent, line: Int, to out: inout [UInt8]) {
        out.append(EventCacheFormat.eventRecord)
        appendVarint(UInt64(line), to: &out)
        appendInteger(UInt64(bitPattern: event.occurredAt.millisecondsSinceEpoch), to: &out)
        appendInteger(UInt64(bitPattern: event.amount.minorUnits), to: &out)
        appendInteger(UInt64(event.amount.currency.packed), to: &out)
        out.append(UInt8(EventCacheFormat.channels.firstIndex(of: event.channel)!))
        out.append(UInt8(EventCacheFormat.types.firstIndex(of: event.type)!))
        out.append(event.label.map { UInt8(EventCacheFormat.labels.firstIndex(of: $0)! + 1) } ?? 0)
        out.append(event.beneficiaryID == nil ? 0 : 1)
        for text in [event.paymentID, event.accountID, event.cardFingerprint, event.deviceID, event.ip,
                     event.merchantID, event.mcc, event.cardCountry, event.ipCountry] {
            appendString(text, to: &out)
        }
        if let beneficiary = event.beneficiaryID { appendString(beneficiary, to: &out) }
        appendVarint(UInt64(event.metadata.count), to: &out)
        // Sorted so the same input always gives the same cache bytes (dictionary order is per process).
        for key in event.metadata.keys.sorted() {
            appendString(key, to: &out)
            appendString(event.metadata[key]!, to: &out)
        }
    }

    static func append(error: EventLineError, to out: inout [UInt8]) {
        out.append(EventCacheFormat.errorRecord)
        appendVarint(UInt64(error.line), to: &out)
        appendString(error.error.kind.rawValue, to: &out)
        appendOptional(error.error.paymentID, to: &out)
        appendOptional(error.error.field, to: &out)
        appendString(error.error.reason, to: &out)
        appendVarint(UInt64(error.rawLine.count), to: &out)
        out.append(contentsOf: error.rawLine)
    }

    private static func appendInteger(_ value: UInt64, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    private static func appendString(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            appendVarint(UInt64(bytes.count), to: &out)
            out.append(contentsOf: bytes)
        }
    }

    private static func appendOptional(_ text: String?, to out: inout [UInt8]) {
        guard let text else { return out.append(0) }
        out.append(1)
        appendString(text, to: &out)
    }

    // MARK: Reading

    /// What a record decodes to.
    enum Decoded {
        case event(PaymentEvent, line: Int)
        case error(line: Int, EventDecodingError, rawLine: [UInt8])
    }

    /// A cursor over one verified block's payload. Every read is bounds-checked: a block that
    /// passed its checksum but does not parse (a writer bug, a format mix-up) is reported, never
    /// read past.
    struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var isAtEnd: Bool { offset == bytes.count }

        mutating func next() throws(CursorError) -> Decoded {
            switch try byte() {
            case EventCacheFormat.eventRecord: return try event()
            case EventCacheFormat.errorRecord: return try error()
            case let kind: throw CursorError(offset: offset - 1, reason: "unknown record kind \(kind)")
            }
        }

        private mutating func event() throws(CursorError) -> Decoded {
            let line = try Int(varint())
            let occurredAt = try Int64(bitPattern: integer())
            let minorUnits = try Int64(bitPattern: integer())
            let packed = try UInt32(truncatingIfNeeded: integer())
            let channel = try enumCase(EventCacheFormat.channels, byte())
            let type = try enumCase(EventCacheFormat.types, byte())
            let labelByte = try byte()
            let label = labelByte == 0 ? nil : try enumCase(EventCacheFormat.labels, labelByte - 1)
            let hasBeneficiary = try byte() == 1
            guard let currency = Currency(asciiBytes: UInt8(truncatingIfNeeded: packed >> 16), UInt8(truncatingIfNeeded: packed >> 8), UInt8(truncatingIfNeeded: packed)) else {
                throw CursorError(offset: offset, reason: "unknown currency code \(packed)")
            }
            let paymentID = try string(), accountID = try string(), card = try string(), device = try string(), ip = try string()
            let merchant = try string(), mcc = try string(), cardCountry = try string(), ipCountry = try string()
            let beneficiary = hasBeneficiary ? try string() : nil
            let metadataCount = try Int(varint())
            var metadata: [String: String] = [:]
            if metadataCount > 0 {
                metadata.reserveCapacity(metadataCount)
                for _ in 0..<metadataCount {
                    let key = try string()
                    metadata[key] = try string()
                }
            }
            let event = PaymentEvent(
                paymentID: paymentID, occurredAt: EventTime(millisecondsSinceEpoch: occurredAt), accountID: accountID,
                cardFingerprint: card, deviceID: device, ip: ip, merchantID: merchant, mcc: mcc,
                amount: Money(minorUnits: minorUnits, currency: currency), cardCountry: cardCountry, ipCountry: ipCountry,
                channel: channel, type: type, beneficiaryID: beneficiary, metadata: metadata, label: label
            )
            return .event(event, line: line)
        }

        private mutating func error() throws(CursorError) -> Decoded {
            let line = try Int(varint())
            let kindName = try string()
            guard let kind = EventDecodingError.Kind(rawValue: kindName) else {
                throw CursorError(offset: offset, reason: "unknown error kind \"\(kindName)\"")
            }
            let paymentID = try optionalString(), field = try optionalString(), reason = try string()
            let raw = try slice(Int(varint()))
            return .error(line: line, EventDecodingError(kind: kind, paymentID: paymentID, field: field, reason: reason), rawLine: Array(raw))
        }

        private mutating func byte() throws(CursorError) -> UInt8 {
            guard offset < bytes.count else { throw CursorError(offset: offset, reason: "record cut short") }
            defer { offset += 1 }
            return bytes[offset]
        }

        private mutating func integer() throws(CursorError) -> UInt64 {
            guard offset + 8 <= bytes.count else { throw CursorError(offset: offset, reason: "record cut short") }
            defer { offset += 8 }
            return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }

        private mutating func varint() throws(CursorError) -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                let next = try byte()
                guard shift < 64 else { throw CursorError(offset: offset, reason: "length over 64 bits") }
                value |= UInt64(next & 0x7F) << shift
                if next < 0x80 { return value }
                shift += 7
            }
        }

        private mutating func slice(_ count: Int) throws(CursorError) -> UnsafeRawBufferPointer {
            guard count >= 0, count <= bytes.count - offset else { throw CursorError(offset: offset, reason: "length \(count) past the end of the block") }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        }

        private mutating func string() throws(CursorError) -> String {
            let raw = try slice(Int(varint()))
            return String(decoding: raw.assumingMemoryBound(to: UInt8.self), as: UTF8.self)
        }

        private mutating func optionalString() throws(CursorError) -> String? {
            try byte() == 0 ? nil : try string()
        }

        private func enumCase<Case>(_ cases: [Case], _ index: UInt8) throws(CursorError) -> Case {
            guard Int(index) < cases.count else { throw CursorError(offset: offset - 1, reason: "enum index \(index) out of range") }
            return cases[Int(index)]
        }
    }

    struct CursorError: Error {
        var offset: Int
        var reason: String
    }
}
