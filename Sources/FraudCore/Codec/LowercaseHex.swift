/// Lowercase hexadecimal digits written into a byte buffer: digests, fingerprints and `\u00XX`
/// escapes, without building a `String` per value.
public enum LowercaseHex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Two digits.
    @inline(__always)
    public static func append(byte: UInt8, to out: inout [UInt8]) {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }

    /// Sixteen digits, most significant first (leading zeros kept).
    public static func append(_ value: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { append(byte: UInt8(truncatingIfNeeded: value >> UInt64(shift)), to: &out) }
    }

    /// Whether `text` is made of `count` digits that `append` could have written.
    public static func isDigits(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { digits.contains($0) }
    }
}
