/// Appends JSON tokens to a reused byte buffer: escaped strings, integers, shortest doubles.
///
/// The encoders build one object per call into the caller's `[UInt8]`, so a writer loop keeps
/// a single buffer and allocates nothing per event once it has grown.
enum JSONWriter {
    /// `"key":` for a key that needs no escaping.
    @inline(__always)
    static func key(_ name: StaticString, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        raw(name, to: &out)
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    /// Writes `s` as a JSON string: `"` and `\` escaped, control characters as `\n`-style or
    /// `\u00XX` escapes, everything else (including non-ASCII UTF-8) verbatim.
    @inline(__always)
    static func string(_ s: String, to out: inout [UInt8]) {
        // Native strings hand out their bytes in place; `withUTF8` needs a mutable copy, a
        // retain and release per string.
        if s.utf8.withContiguousStorageIfAvailable({ string($0, to: &out) }) != nil { return }
        var s = s
        s.withUTF8 { string($0, to: &out) }
    }

    static func string(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        if !needsEscaping(bytes) {
            out.append(contentsOf: bytes)
        } else {
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(byte)
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
                case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
                case 0..<0x20:
                    raw("\\u00", to: &out)
                    out.append(contentsOf: hex4(UInt16(byte)).utf8.suffix(2))
                default: out.append(byte)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Whether any byte is a control character, `"` or `\`. Eight bytes per step (the classic
    /// SWAR tests for a zero byte and for a byte below 0x20): the ids, versions and feature names
    /// of a decision are 15 to 50 bytes and almost never need escaping.
    @inline(__always)
    static func needsEscaping(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let quotes = ones &* UInt64(UInt8(ascii: "\"")), backslashes = ones &* UInt64(UInt8(ascii: "\\"))
        var index = 0
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            // A byte b < 0x20 sets its high bit in b − 0x20 while its own high bit is clear; a
            // byte equal to c is zero in word ^ c. Exact per byte: borrows only run from a byte
            // that already matched.
            let control = (word &- ones &* 0x20) & ~word & highs
            let quote = ((word ^ quotes) &- ones) & ~(word ^ quotes) & highs
            let backslash = ((word ^ backslashes) &- ones) & ~(word ^ backslashes) & highs
            if control | quote | backslash != 0 { return true }
            index += 8
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return true }
            index += 1
        }
        return false
    }

    /// Decimal digits of `value` without going through String.
    @inline(__always)
    static func integer(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        guard magnitude >= 10 else {
            out.append(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes of scratch on the stack
        var count = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            while magnitude > 0 {
                scratch[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[(24 - count)...]))
        }
    }

    /// The shortest text that reads back as the same Double; `null` for NaN and infinities,
    /// which JSON cannot carry.
    static func double(_ value: Double, to out: inout [UInt8]) {
        guard value.isFinite else {
            raw("null", to: &out)
            return
        }
        // Swift's description is the shortest round-trip form and always valid JSON for finite
        // values ("0.0123", "6.0", "1e-05", "1.5e+300"). `write(to:)` formats the same text into
        // a stack buffer and hands it to the stream, so no String is allocated per value (a
        // decision carries seven doubles, and their Strings were a third of its encoding cost).
        // Calling the runtime's formatter (`swift_float64ToString`) directly was tried and wrote
        // `=.98…`: it is not a public entry point and its contract changed between toolchains.
        var sink = ByteSink(out: out)
        out = []
        value.write(to: &sink)
        out = sink.out
    }

    /// A text stream appending to a byte buffer. The standard library writes numbers through
    /// `_writeASCII` (its formatted bytes, no String); without that hook (another toolchain) it
    /// falls back to `write(_:)` with a String, which gives the same bytes, only slower.
    private struct ByteSink: TextOutputStream {
        var out: [UInt8]

        mutating func write(_ string: String) { out.append(contentsOf: string.utf8) }

        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { out.append(contentsOf: buffer) }
    }

    static func bool(_ value: Bool, to out: inout [UInt8]) {
        raw(value ? "true" : "false", to: &out)
    }

    /// Bytes written as they are: punctuation, literals, pre-escaped keys.
    @inline(__always)
    static func raw(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    static func time(_ time: EventTime, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        RFC3339.append(time, to: &out)
        out.append(UInt8(ascii: "\""))
    }
}
