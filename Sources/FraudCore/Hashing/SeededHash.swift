/// A fast seeded 64-bit hash of a string's UTF-8 bytes, for in-process hash tables keyed by ids
/// that clients choose (payment ids): 8 bytes per multiply-and-fold step, so an id costs a few
/// nanoseconds, against Swift's SipHash `Hasher` which costs several times that. The seed is
/// random per table (or per process), so ids that collide cannot be chosen in advance; the
/// tables that use it still confirm every hit against the id itself.
public struct SeededHash: Sendable {
    public let seed: UInt64

    public init(seed: UInt64 = .random(in: .min ... .max)) { self.seed = seed }

    public func callAsFunction(_ text: String) -> UInt64 {
        var text = text
        return text.withUTF8 { hash($0) }
    }

    public func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let k0: UInt64 = 0xA076_1D64_78BD_642F, k1: UInt64 = 0xE703_7ED1_A0B4_28DB, k2: UInt64 = 0x8EBC_6AF0_9C88_C6E3
        var h = seed ^ (UInt64(bytes.count) &* k2)
        guard let base = bytes.baseAddress.map(UnsafeRawPointer.init) else { return Self.mix(h ^ k0, k1) }
        var offset = 0
        while offset + 8 <= bytes.count {
            h = Self.mix(base.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ k0, h ^ k1)
            offset += 8
        }
        if offset < bytes.count {
            var tail: UInt64 = 0
            for index in offset..<bytes.count { tail |= UInt64(base.load(fromByteOffset: index, as: UInt8.self)) << (8 * UInt64(index - offset)) }
            h = Self.mix(tail ^ k2, h ^ k1)
        }
        return Self.mix(h ^ k0, k2)
    }

    /// The folded multiply every step uses (also `EventFingerprint`'s).
    @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }
}
