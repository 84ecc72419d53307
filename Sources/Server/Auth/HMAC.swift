import FraudCore

/// HMAC-SHA256 (RFC 2104) over FraudCore's SHA-256, for HS256 bearer tokens.
public enum HMACSHA256 {
    private static let blockSize = 64

    public static func authenticate(_ message: some Collection<UInt8>, key: some Collection<UInt8>) -> [UInt8] {
        var block = key.count > blockSize ? digest(key) : Array(key)
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        inner.update(message)
        let innerDigest = inner.finalize()
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(innerDigest)
        return outer.finalize()
    }

    /// SHA-256 of `bytes` (an API key's digest, computed on every request that presents one).
    static func digest(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// Compares secrets in time that depends only on their lengths, never on where they differ.
public func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
    var ai = a.makeIterator(), bi = b.makeIterator()
    for _ in 0..<max(a.count, b.count) {
        difference |= (ai.next() ?? 0) ^ (bi.next() ?? 0)
    }
    return difference == 0 && a.count == b.count
}
