/// Decodes one payment event from its JSON wire form (docs/formats.md) straight from UTF-8 bytes.
///
/// Hand-written and strict: exactly one JSON object, every required field once, money as an
/// integer, unknown fields skipped (after validating them). It copies nothing but the strings it
/// returns, and strings of up to 15 bytes (all the ids the simulator writes) are stored inline.
public struct EventDecoder: Sendable {
    public var limits: EventDecodingLimits

    public init(limits: EventDecodingLimits = .default) {
        self.limits = limits
    }

    public func decode(_ bytes: UnsafeBufferPointer<UInt8>) throws(EventDecodingError) -> PaymentEvent {
        do throws(WireError) {
            return try decodeObject(bytes)
        } catch {
            throw attribute(error, in: bytes)
        }
    }

    public func decode(_ bytes: [UInt8]) throws(EventDecodingError) -> PaymentEvent {
        try bytes.withUnsafeBufferPointer { buffer throws(EventDecodingError) in try decode(buffer) }
    }

    public func decode(_ text: String) throws(EventDecodingError) -> PaymentEvent {
        var text = text
        // `withUTF8` is `rethrows` (untyped), so the typed error travels out in a Result.
        let result = text.withUTF8 { buffer in Result { () throws(EventDecodingError) in try decode(buffer) } }
        return try result.get()
    }

    private func decodeObject(_ bytes: UnsafeBufferPointer<UInt8>) throws(WireError) -> PaymentEvent {
        guard bytes.count <= limits.maxEventBytes else {
            throw WireError(.tooLong, "event is \(bytes.count) bytes, over the limit of \(limits.maxEventBytes) (raise EventDecodingLimits.maxEventBytes if such events are legitimate)")
        }
        var scanner = JSONScanner(bytes, maxDepth: limits.maxNestingDepth)
        var draft = EventDraft(limits: limits)
        var unknownKeys: [Range<Int>] = []
        try scanner.expect(UInt8(ascii: "{"), "'{' (an event is one JSON object)")
        if scanner.peek() == UInt8(ascii: "}") {
            scanner.position += 1
        } else {
            // Producers write the fields in canonical order (docs/formats.md), so the key after
            // field i is usually field i + 1: compare its bytes in place (one memcmp) before
            // falling back to scanning and matching an arbitrary key.
            var predicted = EventWireField.paymentID
            repeat {
                if scanner.consumeKey(predicted) {
                    try decodeValue(of: predicted, &scanner, &draft)
                    predicted = predicted.next
                    continue
                }
                let key = try scanner.scanString("an object key (a string in double quotes)")
                try scanner.expect(UInt8(ascii: ":"), "':' after an object key")
                let field = try scanner.withUnescaped(key) { name, _ throws(WireError) in EventWireField(name: name) }
                if let field {
                    try decodeValue(of: field, &scanner, &draft)
                    predicted = field.next
                } else {
                    try rejectDuplicateUnknownKey(key, &unknownKeys, scanner)
                    try scanner.skipValue()
                }
            } while try scanner.separatorOrClose(UInt8(ascii: "}"), "',' or '}' after an object member")
        }
        guard scanner.peek() == nil else {
            throw scanner.unexpected("the end of the event after its closing '}' (one event per message or line)")
        }
        return try draft.build()
    }

    @inline(__always)
    private func decodeValue(of field: EventWireField, _ scanner: inout JSONScanner, _ draft: inout EventDraft) throws(WireError) {
        switch scanner.peek() ?? 0 {
        case UInt8(ascii: "\""):
            let token = try scanner.scanString()
            try scanner.withUnescaped(token) { value, isASCII throws(WireError) in
                try draft.setText(field, value, isASCII: isASCII)
            }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let token = try scanner.scanNumber()
            if field == .amountMinor {
                try draft.setAmount(token, in: scanner)
            } else {
                try draft.setInteger(field, token, in: scanner)
            }
        case UInt8(ascii: "{") where field == .metadata:
            try draft.markPresent(.metadata)
            try decodeMetadata(&scanner, &draft)
        case UInt8(ascii: "n") where !field.isRequired && scanner.consumeNull():
            try draft.markNull(field)
        default:
            let found = scanner.describeNextValue()
            throw WireError(.wrongType, field: field.nameString, "expected \(EventDraft.expectedType(field)), got \(found)")
        }
    }

    private func decodeMetadata(_ scanner: inout JSONScanner, _ draft: inout EventDraft) throws(WireError) {
        scanner.position += 1
        if scanner.peek() == UInt8(ascii: "}") { scanner.position += 1; return }
        repeat {
            let keyToken = try scanner.scanString("a metadata key (a string in double quotes)")
            let key = try scanner.withUnescaped(keyToken) { bytes, isASCII throws(WireError) in
                try draft.checkedString("metadata key", bytes, isASCII)
            }
            try scanner.expect(UInt8(ascii: ":"), "':' after a metadata key")
            guard scanner.peek() == UInt8(ascii: "\"") else {
                throw WireError(.wrongType, field: "metadata.\(key)", "expected a string, got \(scanner.describeNextValue()) (metadata maps strings to strings; quote the value)")
            }
            let valueToken = try scanner.scanString()
            let value = try scanner.withUnescaped(valueToken) { bytes, isASCII throws(WireError) in
                try bytes.isEmpty ? "" : draft.checkedString("metadata.\(key)", bytes, isASCII)
            }
            try draft.setMetadata(key: key, value: value)
        } while try scanner.separatorOrClose(UInt8(ascii: "}"), "',' or '}' after a metadata entry")
    }

    /// Unknown keys are skipped, but a key twice is still a malformed event: which value would win
    /// differs between JSON parsers, and the engine must not disagree with the producer.
    private func rejectDuplicateUnknownKey(_ key: JSONScanner.StringToken, _ seen: inout [Range<Int>], _ scanner: JSONScanner) throws(WireError) {
        let bytes = scanner.bytes
        for earlier in seen where earlier.count == key.count {
            if bytes[earlier].elementsEqual(bytes[key.start..<key.end]) {
                throw WireError(.duplicateField, field: scanner.text(key.start, key.end), "appears twice (each field may appear once per event)")
            }
        }
        seen.append(key.start..<key.end)
    }

    /// Completes an error with what could still be read: the payment id, and the currency that
    /// turns a float amount into the exact integer the producer should have sent.
    private func attribute(_ error: WireError, in bytes: UnsafeBufferPointer<UInt8>) -> EventDecodingError {
        let salvaged = Self.salvage(bytes)
        var error = error
        if error.kind == .floatAmount, let text = error.valueText {
            error.reason = EventDraft.floatAmountReason(text, currency: salvaged.currency)
        }
        return EventDecodingError(error, paymentID: salvaged.paymentID)
    }

    /// Best-effort read of `payment_id` and `currency` from a possibly broken object; stops at
    /// the first syntax error. Used only on the error path.
    static func salvage(_ bytes: UnsafeBufferPointer<UInt8>) -> (paymentID: String?, currency: Currency?) {
        var scanner = JSONScanner(bytes)
        var paymentID: String?
        var currency: Currency?
        do {
            try scanner.expect(UInt8(ascii: "{"), "")
            repeat {
                let key = try scanner.scanString()
                try scanner.expect(UInt8(ascii: ":"), "")
                let field = try scanner.withUnescaped(key) { name, _ throws(WireError) in EventWireField(name: name) }
                if (field == .paymentID || field == .currency), scanner.peek() == UInt8(ascii: "\"") {
                    let value = try scanner.string(try scanner.scanString())
                    if field == .paymentID, paymentID == nil, !value.isEmpty { paymentID = value }
                    if field == .currency, currency == nil { currency = Currency(value) }
                } else {
                    try scanner.skipValue()
                }
            } while try scanner.separatorOrClose(UInt8(ascii: "}"), "")
        } catch {}
        return (paymentID, currency)
    }
}
