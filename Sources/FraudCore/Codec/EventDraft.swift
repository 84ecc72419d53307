import Glibc

/// A payment event being assembled field by field from a JSON object or a CSV record.
///
/// Both decoders feed it the raw bytes of each value, so every field is validated by the same code
/// and produces the same error message whatever the input format.
struct EventDraft {
    let limits: EventDecodingLimits
    private var seen: UInt32 = 0
    var paymentID: String?
    var occurredAt: EventTime?
    var accountID = ""
    var cardFingerprint = ""
    var deviceID = ""
    var ip = ""
    var merchantID = ""
    var mcc = ""
    var amountMinor: Int64 = 0
    var currency: Currency?
    var cardCountry = ""
    var ipCountry = ""
    var channel: Channel = .ecom
    var type: PaymentType = .payment
    var beneficiaryID: String?
    var metadata: [String: String] = [:]
    var label: Label?

    init(limits: EventDecodingLimits) {
        self.limits = limits
    }

    /// Records that `field` was present; a second occurrence is an error.
    @inline(__always)
    mutating func markPresent(_ field: EventWireField) throws(WireError) {
        guard seen & field.bit == 0 else {
            throw WireError(.duplicateField, field: field.nameString, "appears twice (each field may appear once per event)")
        }
        seen |= field.bit
    }

    /// Marks an optional field as present but null (`"beneficiary_id": null`).
    mutating func markNull(_ field: EventWireField) throws(WireError) {
        guard !field.isRequired else {
            throw WireError(.wrongType, field: field.nameString, "must not be null (it is required; see docs/formats.md)")
        }
        try markPresent(field)
    }

    /// Sets a field from the bytes of a string value (a JSON string's content or a CSV cell).
    mutating func setText(_ field: EventWireField, _ bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool) throws(WireError) {
        try markPresent(field)
        switch field {
        case .paymentID: paymentID = try identifier(field, bytes, isASCII)
        case .accountID: accountID = try identifier(field, bytes, isASCII)
        case .cardFingerprint: cardFingerprint = try identifier(field, bytes, isASCII)
        case .deviceID: deviceID = try identifier(field, bytes, isASCII)
        case .ip: ip = try identifier(field, bytes, isASCII)
        case .merchantID: merchantID = try identifier(field, bytes, isASCII)
        case .beneficiaryID: beneficiaryID = try identifier(field, bytes, isASCII)
        case .occurredAt: occurredAt = try time(bytes)
        case .mcc:
            guard bytes.count == 4, bytes.allSatisfy(isDigit) else {
                throw WireError(.invalidValue, field: "mcc", "expected a 4-digit merchant category code such as \"5411\", got \(quotedPreview(bytes))")
            }
            mcc = String(decoding: bytes, as: UTF8.self)
        case .currency:
            guard bytes.count == 3, let code = Currency(asciiBytes: bytes[0], bytes[1], bytes[2]) else {
                throw WireError(.unknownCurrency, field: "currency", "unknown currency \(quotedPreview(bytes)) (expected an active ISO 4217 code in uppercase, such as \"USD\")")
            }
            currency = code
        case .cardCountry: cardCountry = try country(field, bytes)
        case .ipCountry: ipCountry = try country(field, bytes)
        case .channel: channel = try choice(field, bytes)
        case .type: type = try choice(field, bytes)
        case .label: label = try choice(field, bytes)
        case .amountMinor:
            throw WireError(.wrongType, field: "amount_minor", "expected an integer number of minor units, got a string (send a JSON number such as 1250, not \"1250\")")
        case .metadata:
            throw WireError(.wrongType, field: "metadata", "expected an object of string values, got a string")
        }
    }

    /// Sets `amount_minor` from a number token; `text` is the number exactly as written.
    mutating func setAmount(_ token: JSONScanner.NumberToken, in scanner: JSONScanner) throws(WireError) {
        try markPresent(.amountMinor)
        let text = scanner.text(token.start, token.end)
        guard token.isInteger else {
            throw WireError(.floatAmount, field: "amount_minor", EventDraft.floatAmountReason(text, currency: nil), valueText: text)
        }
        guard let value = scanner.int64(token), value <= Money.maximumMinorUnits else {
            throw WireError(.amountOverflow, field: "amount_minor", "\(text) is outside the accepted amounts, 0 to \(Money.maximumMinorUnits) minor units (10^15)")
        }
        guard value >= 0 else {
            throw WireError(.negativeAmount, field: "amount_minor", "expected a non-negative amount, got \(text) (a refund carries a positive amount with \"type\": \"refund\")")
        }
        amountMinor = value
    }

    /// Sets `occurred_at` (epoch milliseconds) or `mcc` (0...9999) from an integer, as JSON allows.
    mutating func setInteger(_ field: EventWireField, _ token: JSONScanner.NumberToken, in scanner: JSONScanner) throws(WireError) {
        try markPresent(field)
        let value = token.isInteger ? scanner.int64(token) : nil
        switch field {
        case .occurredAt:
            guard let value, EventDraft.epochRange.contains(value) else {
                throw WireError(.invalidTime, field: "occurred_at", "invalid time \(scanner.text(token.start, token.end)) \(EventDraft.timeHint)")
            }
            occurredAt = EventTime(millisecondsSinceEpoch: value)
        case .mcc:
            guard let value, (0...9999).contains(value) else {
                throw WireError(.invalidValue, field: "mcc", "expected a merchant category code 0...9999, got \(scanner.text(token.start, token.end))")
            }
            mcc = EventDraft.fourDigits(Int(value))
        default:
            throw WireError(.wrongType, field: field.nameString, "expected \(EventDraft.expectedType(field)), got a number")
        }
    }

    mutating func setMetadata(key: String, value: String) throws(WireError) {
        guard metadata.count < limits.maxMetadataEntries || metadata[key] != nil else {
            throw WireError(.tooLong, field: "metadata", "more than \(limits.maxMetadataEntries) entries (send fewer or raise EventDecodingLimits.maxMetadataEntries)")
        }
        guard metadata.updateValue(value, forKey: key) == nil else {
            throw WireError(.duplicateField, field: "metadata.\(key)", "appears twice (each metadata key may appear once)")
        }
    }

    /// The finished event, or the first missing required field in canonical order.
    func build() throws(WireError) -> PaymentEvent {
        if seen & EventDraft.requiredBits != EventDraft.requiredBits {
            for field in EventWireField.allCases where field.isRequired && seen & field.bit == 0 {
                throw WireError(.missingField, field: field.nameString, "required but missing (every event carries it; see docs/formats.md)")
            }
        }
        return PaymentEvent(
            paymentID: paymentID!, occurredAt: occurredAt!, accountID: accountID, cardFingerprint: cardFingerprint,
            deviceID: deviceID, ip: ip, merchantID: merchantID, mcc: mcc,
            amount: Money(minorUnits: amountMinor, currency: currency!),
            cardCountry: cardCountry, ipCountry: ipCountry, channel: channel, type: type,
            beneficiaryID: beneficiaryID, metadata: metadata, label: label
        )
    }

    // MARK: Validation of single values

    func identifier(_ field: EventWireField, _ bytes: UnsafeBufferPointer<UInt8>, _ isASCII: Bool) throws(WireError) -> String {
        try checkedString(field.nameString, bytes, isASCII)
    }

    /// A non-empty string within the size limit.
    func checkedString(_ field: @autoclosure () -> String, _ bytes: UnsafeBufferPointer<UInt8>, _ isASCII: Bool) throws(WireError) -> String {
        guard !bytes.isEmpty else {
            throw WireError(.emptyValue, field: field(), "must not be empty")
        }
        guard bytes.count <= limits.maxStringBytes else {
            throw WireError(.tooLong, field: field(), "value is \(bytes.count) bytes, over the limit of \(limits.maxStringBytes) (shorten it or raise EventDecodingLimits.maxStringBytes)")
        }
        // PostgreSQL's text cannot hold U+0000: a NUL in an id would be decided, then refused by
        // every service that stores the decision, on every retry of its batch.
        guard memchr(bytes.baseAddress!, 0, bytes.count) == nil else {
            throw WireError(.invalidValue, field: field(), "contains the NUL character (U+0000), which no id or text may carry")
        }
        do {
            return try makeString(bytes, isASCII: isASCII, at: 0)
        } catch {
            throw WireError(.invalidValue, field: field(), "is not valid UTF-8 (send text as UTF-8)")
        }
    }

    private func country(_ field: EventWireField, _ bytes: UnsafeBufferPointer<UInt8>) throws(WireError) -> String {
        guard bytes.count == 2, bytes.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            throw WireError(.invalidValue, field: field.nameString, "expected an ISO 3166-1 alpha-2 country code in uppercase, such as \"US\", got \(quotedPreview(bytes))")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func choice<T: WireEnum>(_ field: EventWireField, _ bytes: UnsafeBufferPointer<UInt8>) throws(WireError) -> T {
        for (name, candidate) in T.wireNames where bytesEqual(name, bytes) { return candidate }
        let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
        throw WireError(.invalidValue, field: field.nameString, "unknown value \(quotedPreview(bytes)) (expected one of: \(allowed))")
    }

    private func time(_ bytes: UnsafeBufferPointer<UInt8>) throws(WireError) -> EventTime {
        if let time = RFC3339.parse(bytes) { return time }
        // A string of digits is epoch milliseconds (CSV cells have no number type).
        if !bytes.isEmpty, bytes.count <= 16, bytes.allSatisfy(isDigit) {
            let value = bytes.reduce(Int64(0)) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
            if EventDraft.epochRange.contains(value) { return EventTime(millisecondsSinceEpoch: value) }
        }
        throw WireError(.invalidTime, field: "occurred_at", "invalid time \(quotedPreview(bytes)) \(EventDraft.timeHint)")
    }

    static let requiredBits = EventWireField.allCases.filter(\.isRequired).reduce(UInt32(0)) { $0 | $1.bit }

    static let timeHint = "(expected RFC 3339 with a zone, such as \"2026-11-29T08:15:30.123Z\", or epoch milliseconds as an integer)"

    /// Years 0000 through 9999, the range RFC 3339 can write.
    static let epochRange = RFC3339.representableRange

    static func fourDigits(_ value: Int) -> String {
        let digits: [UInt8] = [1000, 100, 10, 1].map { UInt8(ascii: "0") + UInt8(value / $0 % 10) }
        return String(decoding: digits, as: UTF8.self)
    }

    static func expectedType(_ field: EventWireField) -> String {
        switch field {
        case .amountMinor: "an integer number of minor units"
        case .occurredAt: "an RFC 3339 time string or epoch milliseconds"
        case .mcc: "a 4-digit string such as \"5411\""
        case .metadata: "an object of string values"
        case .beneficiaryID, .label: "a string or null"
        default: "a string"
        }
    }

    /// The float-amount explanation; with a known currency it shows the exact integer to send.
    static func floatAmountReason(_ text: String, currency: Currency?) -> String {
        let head = "expected an integer number of minor units, got \(text) (money is never a float: "
        if let currency, let minor = exactMinorUnits(text, exponent: currency.minorUnitExponent) {
            return head + "send \(minor) with \"currency\": \"\(currency.code)\")"
        }
        return head + "send the amount in integer minor units of its currency, e.g. 1250 for 12.50 USD)"
    }

    /// `text` (a JSON number) times 10^exponent, if that is an integer that fits in an Int64.
    static func exactMinorUnits(_ text: String, exponent: Int) -> Int64? {
        var digits = [UInt8]()
        var scale = exponent
        var exponentPart = ""
        var inFraction = false
        var negative = false
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "-"): negative = true
            case UInt8(ascii: "."): inFraction = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                while let rest = iterator.next() { exponentPart.unicodeScalars.append(Unicode.Scalar(rest)) }
            default:
                digits.append(byte - UInt8(ascii: "0"))
                if inFraction { scale -= 1 }
            }
        }
        if !exponentPart.isEmpty {
            guard let e = Int(exponentPart.hasPrefix("+") ? String(exponentPart.dropFirst()) : exponentPart), e.magnitude < 40 else { return nil }  // not abs: abs(Int.min) traps
            scale += e
        }
        while scale < 0 {
            guard let last = digits.last, last == 0 else { return nil }
            digits.removeLast()
            scale += 1
        }
        var value: Int64 = 0
        for digit in digits + Array(repeating: 0, count: scale) {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(digit))
            if o1 || o2 { return nil }
            value = s
        }
        return negative ? -value : value
    }
}

/// An enum of the wire format whose values are matched as bytes, without building a String.
protocol WireEnum: RawRepresentable, CaseIterable where RawValue == String {
    static var wireNames: [(StaticString, Self)] { get }
}

extension Channel: WireEnum {
    static let wireNames: [(StaticString, Channel)] = [("ecom", .ecom), ("pos", .pos), ("p2p", .p2p), ("wallet", .wallet)]
}

extension PaymentType: WireEnum {
    static let wireNames: [(StaticString, PaymentType)] = [
        ("payment", .payment), ("refund", .refund), ("transfer", .transfer), ("withdrawal", .withdrawal), ("topup", .topup),
    ]
}

extension Label: WireEnum {
    static let wireNames: [(StaticString, Label)] = [("fraud", .fraud), ("legit", .legit)]
}
