/// The top-level fields of the payment event wire format (JSON keys and CSV column names), in the
/// canonical order the encoders write them. See docs/formats.md.
enum EventWireField: Int, CaseIterable {
    case paymentID, occurredAt, accountID, cardFingerprint, deviceID, ip, merchantID, mcc
    case amountMinor, currency, cardCountry, ipCountry, channel, type, beneficiaryID, metadata, label

    var name: StaticString {
        switch self {
        case .paymentID: "payment_id"
        case .occurredAt: "occurred_at"
        case .accountID: "account_id"
        case .cardFingerprint: "card_fingerprint"
        case .deviceID: "device_id"
        case .ip: "ip"
        case .merchantID: "merchant_id"
        case .mcc: "mcc"
        case .amountMinor: "amount_minor"
        case .currency: "currency"
        case .cardCountry: "card_country"
        case .ipCountry: "ip_country"
        case .channel: "channel"
        case .type: "type"
        case .beneficiaryID: "beneficiary_id"
        case .metadata: "metadata"
        case .label: "label"
        }
    }

    var nameString: String { name.description }

    var isRequired: Bool {
        switch self {
        case .beneficiaryID, .metadata, .label: false
        default: true
        }
    }

    var bit: UInt32 { 1 << UInt32(rawValue) }

    /// The field written after this one in canonical order (the last wraps to the first).
    @inline(__always)
    var next: EventWireField { EventWireField(rawValue: rawValue + 1) ?? .paymentID }

    /// Matches a key by length first, then bytes: no hashing, no String.
    @inline(__always)
    init?(name key: UnsafeBufferPointer<UInt8>) {
        let candidates: (EventWireField, EventWireField?, EventWireField?)
        switch key.count {
        case 2: candidates = (.ip, nil, nil)
        case 3: candidates = (.mcc, nil, nil)
        case 4: candidates = (.type, nil, nil)
        case 5: candidates = (.label, nil, nil)
        case 7: candidates = (.channel, nil, nil)
        case 8: candidates = (.currency, .metadata, nil)
        case 9: candidates = (.deviceID, nil, nil)
        case 10: candidates = (.paymentID, .accountID, .ipCountry)
        case 11: candidates = (.merchantID, .occurredAt, nil)
        case 12: candidates = (.amountMinor, .cardCountry, nil)
        case 14: candidates = (.beneficiaryID, nil, nil)
        case 16: candidates = (.cardFingerprint, nil, nil)
        default: return nil
        }
        if bytesEqual(candidates.0.name, key) { self = candidates.0; return }
        if let c = candidates.1, bytesEqual(c.name, key) { self = c; return }
        if let c = candidates.2, bytesEqual(c.name, key) { self = c; return }
        return nil
    }
}

/// Whether `bytes` spell `name` exactly: key and enum matching without building a String.
@inline(__always)
func bytesEqual(_ name: StaticString, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard name.utf8CodeUnitCount == bytes.count else { return false }
    let p = name.utf8Start
    for i in 0..<bytes.count where p[i] != bytes[i] { return false }
    return true
}

/// Limits that keep one hostile or broken event from costing unbounded memory or time.
public struct EventDecodingLimits: Hashable, Sendable {
    /// Longest accepted string value (ids, metadata keys and values), in UTF-8 bytes.
    public var maxStringBytes: Int
    /// Most entries accepted in `metadata`.
    public var maxMetadataEntries: Int
    /// Largest accepted event, in bytes.
    public var maxEventBytes: Int
    /// Deepest nesting accepted inside unknown fields' values.
    public var maxNestingDepth: Int

    public init(maxStringBytes: Int = 256, maxMetadataEntries: Int = 32, maxEventBytes: Int = 64 * 1024, maxNestingDepth: Int = 32) {
        self.maxStringBytes = maxStringBytes
        self.maxMetadataEntries = maxMetadataEntries
        self.maxEventBytes = maxEventBytes
        self.maxNestingDepth = maxNestingDepth
    }

    public static let `default` = EventDecodingLimits()
}
