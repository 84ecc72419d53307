import FraudCore

/// A stable 64-bit hash (FNV-1a with the MurmurHash3 finalizer).
///
/// Swift's `Hasher` is seeded per process, so it cannot name an event across restarts, shards or
/// engine instances; this one can. It is not collision-resistant against an adversary, which is
/// why it only ever hashes server-generated identifiers (payment ids), never customer input.
enum StableHash {
    static func hash(_ text: String) -> UInt64 {
        // A contiguous view of the bytes (native and small strings have one) keeps the loop free
        // of the UTF-8 view's per-byte index bookkeeping; the value is the same either way.
        text.utf8.withContiguousStorageIfAvailable(hash(bytes:)) ?? hash(bytes: text.utf8)
    }

    @inline(__always)
    private static func hash<Bytes: Sequence<UInt8>>(bytes: Bytes) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}

/// How a numeric field's integer window value maps back to the number a feature reports.
///
/// Windows aggregate integers only, so sums are exact and independent of arrival order (a running
/// Double sum would depend on it, and the in-memory and Redis stores would disagree in the last bit).
/// `amount_minor` is aggregated as is; `amount_usd` as whole micro-dollars, rounded once per event.
enum NumericScale: Sendable {
    case minorUnits
    case usdMicros

    static let microsPerDollar: Double = 1_000_000

    func value(_ integer: Int64) -> Double {
        switch self {
        case .minorUnits: Double(integer)
        case .usdMicros: Double(integer) / NumericScale.microsPerDollar
        }
    }

    /// A window's sum. Unsigned: the amounts summed are never negative, so a total past
    /// Int64.max is still exact here, where a signed one wrapped to a negative sum.
    func value(sum: UInt64) -> Double {
        switch self {
        case .minorUnits: Double(sum)
        case .usdMicros: Double(sum) / NumericScale.microsPerDollar
        }
    }

    /// avg = sum / n, computed the same way by every store so results agree to the last bit.
    func average(sum: UInt64, count: Int64) -> Double {
        guard count > 0 else { return .nan }
        switch self {
        case .minorUnits: return Double(sum) / Double(count)
        case .usdMicros: return Double(sum) / Double(count) / NumericScale.microsPerDollar
        }
    }
}

/// The window stores read events through a pointer: passing the event itself to a function they
/// cannot see into (`EventField.string(of:)` in FraudCore) made Swift copy the whole event, a
/// dozen string retains and releases, per field and event, which cost more than the extraction.
/// These read the one property they need.
extension EventField {
    /// The integer a window stores for a numeric field, or nil when the event has no value
    /// (an `amount_usd` whose currency has no rate, or one beyond 9.2 trillion dollars, whose
    /// micro-dollars no Int64 holds: converting it trapped, and one such event stopped the engine).
    func windowInteger(of event: UnsafePointer<PaymentEvent>, rates: ExchangeRates) -> Int64? {
        switch self {
        case .amountMinor: event.pointee.amount.minorUnits
        case .amountUSD: rates.usd(event.pointee.amount).flatMap { Int64(exactly: ($0 * NumericScale.microsPerDollar).rounded()) }
        default: nil
        }
    }

    /// The string a window keys on, counts distinct or filters by; nil when the event has none
    /// (no beneficiary, an absent metadata key, an `amount_usd` without a rate). The same text as
    /// `string(of:)`, property by property.
    func windowString(of event: UnsafePointer<PaymentEvent>, rates: ExchangeRates) -> String? {
        switch self {
        case .paymentID: event.pointee.paymentID
        case .accountID: event.pointee.accountID
        case .cardFingerprint: event.pointee.cardFingerprint
        case .deviceID: event.pointee.deviceID
        case .ip: event.pointee.ip
        case .merchantID: event.pointee.merchantID
        case .mcc: event.pointee.mcc
        case .beneficiaryID: event.pointee.beneficiaryID
        case .cardCountry: event.pointee.cardCountry
        case .ipCountry: event.pointee.ipCountry
        case .channel: event.pointee.channel.rawValue
        case .type: event.pointee.type.rawValue
        case .currency: event.pointee.amount.currency.code
        case .amountMinor: String(event.pointee.amount.minorUnits)
        case .amountUSD: windowInteger(of: event, rates: rates).map { NumericScale.usdMicros.value($0).description }
        // An empty value is absent, as the rules read it (and as CSV, which cannot tell them apart).
        case .metadata(let key): event.pointee.metadata[key].flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    var numericScale: NumericScale { self == .amountUSD ? .usdMicros : .minorUnits }

    /// Whether some events carry no value for the field.
    var mayBeMissing: Bool {
        switch self {
        case .beneficiaryID, .amountUSD, .metadata: true
        default: false
        }
    }
}

extension FeatureFilter {
    /// All clauses hold. A clause on a field the event does not carry is false whatever its
    /// operator (`!=` and `not in` included): a missing value never satisfies a comparison.
    func matches(_ event: UnsafePointer<PaymentEvent>, rates: ExchangeRates) -> Bool {
        for clause in clauses {
            guard let value = clause.field.windowString(of: event, rates: rates) else { return false }
            let holds: Bool
            switch clause.op {
            case .equal: holds = clause.values.first == value
            case .notEqual: holds = clause.values.first != value
            case .isIn: holds = clause.values.contains(value)
            case .notIn: holds = !clause.values.contains(value)
            }
            if !holds { return false }
        }
        return true
    }
}
