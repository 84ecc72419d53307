/// A 64-bit digest of everything in a payment event that scoring can read: every field of the
/// event format but `label`, which is ground truth and never scored (a backtest file relabelled
/// later is still the same payments).
///
/// The decision cache keeps it with each decision, so an event answered from the cache can be
/// told apart from a redelivery of the event the decision was made for: same `payment_id`, other
/// content means the id was used for another payment. Two events that decode to the same values
/// have the same fingerprint however their JSON was written (key order, `occurred_at` as RFC 3339
/// or epoch milliseconds, `metadata` in any order).
///
/// The key is fixed, not random per process: engine instances compare fingerprints that others
/// stored in Redis, and after restarts. It is therefore part of the Redis decision format
/// (docs/formats.md): an engine computing it differently must store it under another name. It
/// detects mistakes upstream, not adversaries: it is not a cryptographic digest.
public enum EventFingerprint {
    public static func of(_ event: PaymentEvent) -> UInt64 {
        var h: UInt64 = 0x5741_5149_5449_4650  // "WAQITIFP"
        h = fold(h, event.paymentID)
        h = fold(h, UInt64(bitPattern: event.occurredAt.millisecondsSinceEpoch))
        h = fold(h, event.accountID)
        h = fold(h, event.cardFingerprint)
        h = fold(h, event.deviceID)
        h = fold(h, event.ip)
        h = fold(h, event.merchantID)
        h = fold(h, event.mcc)
        h = fold(h, UInt64(bitPattern: event.amount.minorUnits))
        h = fold(h, UInt64(event.amount.currency.packed))
        h = fold(h, event.cardCountry)
        h = fold(h, event.ipCountry)
        h = fold(h, event.channel.rawValue)
        h = fold(h, event.type.rawValue)
        // Absent and empty are different events on the wire: a tag comes before the value.
        if let beneficiary = event.beneficiaryID { h = fold(fold(h, 1), beneficiary) } else { h = fold(h, 0) }
        // Metadata is a map: combined with a commutative sum so its order on the wire does not
        // matter and no sorted copy is made.
        var metadata: UInt64 = 0
        for (key, value) in event.metadata { metadata &+= SeededHash.mix(hash(key) ^ k1, hash(value) ^ k2) }
        h = fold(h, UInt64(event.metadata.count))
        return fold(h, metadata)
    }

    private static let k0: UInt64 = 0x9E37_79B9_7F4A_7C15, k1: UInt64 = 0xC2B2_AE3D_27D4_EB4F, k2: UInt64 = 0x1656_67B1_9E37_79F9
    /// Fixed: see the type's note on why it is not random.
    private static let strings = SeededHash(seed: 0x6576_656E_7466_7031)  // "eventfp1"

    /// The running state is added back after the multiply, so a value that zeroes one factor
    /// does not erase what was folded before it.
    @inline(__always)
    private static func fold(_ h: UInt64, _ value: UInt64) -> UInt64 { SeededHash.mix(h ^ k0, value ^ k1) &+ (h << 23 | h >> 41) }

    @inline(__always)
    private static func fold(_ h: UInt64, _ text: String) -> UInt64 { fold(h, hash(text)) }

    @inline(__always)
    private static func hash(_ text: String) -> UInt64 { strings(text) }
}
