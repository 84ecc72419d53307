/// Writes Redis commands straight into a byte buffer as RESP (`*argc\r\n` then `$len\r\narg\r\n`
/// per argument), the same bytes hiredis's `redisFormatCommandArgv` produces, for callers that
/// build one large command per batch and want no per-argument allocation. Send the result with
/// `RedisConnection.pipeline(encoded:replies:loading:)`.
public enum RESPWriter {
    /// `*count\r\n`: the command's argument count, name included.
    @inlinable
    public static func appendArrayHeader(_ count: Int, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(Int64(count), to: &bytes)
        appendCRLF(to: &bytes)
    }

    /// `$length\r\n`: the start of a bulk string; write its bytes, then `appendCRLF`.
    @inlinable
    public static func appendBulkHeader(_ length: Int, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(Int64(length), to: &bytes)
        appendCRLF(to: &bytes)
    }

    /// One whole bulk string argument.
    @inlinable
    public static func appendBulk(_ argument: some Collection<UInt8>, to bytes: inout [UInt8]) {
        appendBulkHeader(argument.count, to: &bytes)
        bytes.append(contentsOf: argument)
        appendCRLF(to: &bytes)
    }

    /// One integer argument as its decimal text, as Redis expects.
    @inlinable
    public static func appendBulk(decimal value: Int64, to bytes: inout [UInt8]) {
        appendBulkHeader(decimalLength(value), to: &bytes)
        appendDecimal(value, to: &bytes)
        appendCRLF(to: &bytes)
    }

    @inlinable
    public static func appendCRLF(to bytes: inout [UInt8]) {
        bytes.append(0x0D)
        bytes.append(0x0A)
    }

    /// The decimal text of `value` (a leading `-` when negative), without going through `String`.
    @inlinable
    public static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // The magnitude of Int64.min does not fit in Int64; UInt64 holds it.
        var magnitude = value.magnitude
        let length = decimalDigits(magnitude)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: length))
        var i = start + length - 1
        repeat {
            bytes[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            i -= 1
        } while magnitude > 0
    }

    /// The length of `appendDecimal`'s text for `value`.
    @inlinable
    public static func decimalLength(_ value: Int64) -> Int {
        decimalDigits(value.magnitude) + (value < 0 ? 1 : 0)
    }

    @inlinable
    static func decimalDigits(_ magnitude: UInt64) -> Int {
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }
}
