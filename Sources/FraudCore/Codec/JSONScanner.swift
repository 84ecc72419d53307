import Glibc

/// A strict RFC 8259 tokenizer over one JSON text in a caller-owned byte buffer.
///
/// The decoders drive it field by field: strings and numbers come back as byte ranges of the input
/// (no copy unless a string contains escapes), and values of unknown fields are skipped with full
/// validation. It never reads past `bytes` and never allocates on the common path.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    /// Limit for nested objects and arrays inside skipped values.
    let maxDepth: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = 32) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// A string value: the bytes between the quotes, still escaped if `hasEscapes`.
    struct StringToken {
        var start: Int
        var end: Int
        var hasEscapes: Bool
        var isASCII: Bool
        var count: Int { end - start }
    }

    /// A number exactly as written; `isInteger` when it has neither fraction nor exponent.
    struct NumberToken {
        var start: Int
        var end: Int
        var isInteger: Bool
    }

    var isAtEnd: Bool { position >= bytes.count }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, without consuming it; nil at the end of the text.
    @inline(__always)
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    @inline(__always)
    mutating func expect(_ byte: UInt8, _ context: @autoclosure () -> String) throws(WireError) {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else {
            throw unexpected(context())
        }
        position += 1
    }

    /// Consumes `,` (returns true) or `close` (returns false) after a member or element.
    @inline(__always)
    mutating func separatorOrClose(_ close: UInt8, _ context: @autoclosure () -> String) throws(WireError) -> Bool {
        skipWhitespace()
        if position < bytes.count {
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ",") { return true }
            if byte == close { return false }
            position -= 1
        }
        throw unexpected(context())
    }

    /// An error naming what was expected and what is actually at the cursor.
    func unexpected(_ expected: String) -> WireError {
        guard position < bytes.count else {
            return .syntax(at: position, "the text ends where \(expected) was expected (truncated event? send one complete JSON object per message or line)")
        }
        return .syntax(at: position, "expected \(expected), found \(describeByte(bytes[position]))")
    }

    func describeByte(_ byte: UInt8) -> String {
        if byte >= 0x21, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    // MARK: Strings

    /// Consumes `"<field name>"` and the `:` after it if they come next (whitespace allowed
    /// around the colon), without building a token; false leaves the cursor at the next token.
    /// A key with escapes or other bytes never matches here and takes the general path.
    @inline(__always)
    mutating func consumeKey(_ field: EventWireField) -> Bool {
        skipWhitespace()
        let name = field.name
        let n = name.utf8CodeUnitCount
        let end = position + n + 2
        guard end <= bytes.count, bytes[position] == UInt8(ascii: "\""), bytes[end - 1] == UInt8(ascii: "\""),
              memcmp(bytes.baseAddress! + position + 1, name.utf8Start, n) == 0 else { return false }
        var cursor = end
        while cursor < bytes.count, bytes[cursor] == 0x20 || bytes[cursor] == 0x09 || bytes[cursor] == 0x0A || bytes[cursor] == 0x0D { cursor += 1 }
        guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: ":") else { return false }
        position = cursor + 1
        return true
    }

    /// Scans a string starting at the opening quote (after whitespace) and validates its escapes.
    mutating func scanString(_ context: @autoclosure () -> String = "a string") throws(WireError) -> StringToken {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw unexpected(context()) }
        position += 1
        let start = position
        var hasEscapes = false
        var high: UInt8 = 0
        // Eight bytes at a time while none is a quote, a backslash, a control or a non-ASCII byte
        // (SWAR: the classic "has a zero byte" test on XOR-ed words); the byte loop below
        // handles the word that has one.
        let base = UnsafeRawPointer(bytes.baseAddress!)
        while position + 8 <= bytes.count {
            let word = base.loadUnaligned(fromByteOffset: position, as: UInt64.self)
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
            let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | (word &- ones &* 0x20) | word
            if special & highs != 0 { break }
            position += 8
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let token = StringToken(start: start, end: position, hasEscapes: hasEscapes, isASCII: high < 0x80)
                position += 1
                return token
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                try scanEscape()
                continue
            }
            if byte < 0x20 {
                throw .syntax(at: position, "control character \(describeByte(byte)) inside a string (escape it as \\n, \\t or \\u00XX)")
            }
            high |= byte
            position += 1
        }
        throw .syntax(at: position, "the text ends inside a string (missing closing '\"'; truncated event?)")
    }

    private mutating func scanEscape() throws(WireError) {
        let at = position
        guard position + 1 < bytes.count else {
            throw .syntax(at: at, "the text ends inside an escape sequence (truncated event?)")
        }
        switch bytes[position + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 2
        case UInt8(ascii: "u"):
            guard position + 6 <= bytes.count else {
                throw .syntax(at: at, "the text ends inside a \\u escape (truncated event?)")
            }
            for i in (position + 2)..<(position + 6) where hexValue(bytes[i]) == nil {
                throw .syntax(at: at, "invalid \\u escape: expected four hex digits, found \(describeByte(bytes[i]))")
            }
            position += 6
        default:
            throw .syntax(at: at, "invalid escape '\\\(Character(Unicode.Scalar(bytes[position + 1])))' in a string (JSON allows \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX)")
        }
    }

    /// Calls `body` with the string's UTF-8 bytes: a slice of the input when it has no escapes,
    /// otherwise the unescaped bytes in a temporary buffer. Rejects lone surrogates and bad UTF-8.
    func withUnescaped<R>(_ token: StringToken, _ body: (UnsafeBufferPointer<UInt8>, Bool) throws(WireError) -> R) throws(WireError) -> R {
        guard token.hasEscapes else {
            return try body(UnsafeBufferPointer(rebasing: bytes[token.start..<token.end]), token.isASCII)
        }
        var out = [UInt8]()
        out.reserveCapacity(token.count)
        var i = token.start
        var isASCII = true
        while i < token.end {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "\\") else {
                isASCII = isASCII && byte < 0x80
                out.append(byte)
                i += 1
                continue
            }
            let escape = bytes[i + 1]
            i += 2
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = UInt32(hex4At(i))
                let escapeStart = i - 2
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 6 <= token.end, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u"),
                          case let low = UInt32(hex4At(i + 2)), (0xDC00...0xDFFF).contains(low) else {
                        throw .syntax(at: escapeStart, "unpaired UTF-16 surrogate \\u\(hex4(UInt16(scalar))) (a high surrogate must be followed by a \\uDC00-\\uDFFF low surrogate)")
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw .syntax(at: escapeStart, "unpaired UTF-16 surrogate \\u\(hex4(UInt16(scalar))) (a low surrogate must follow a high surrogate)")
                }
                isASCII = isASCII && scalar < 0x80
                appendUTF8(Unicode.Scalar(scalar)!, to: &out)
            default: out.append(escape) // \" \\ \/, validated by scanString
            }
        }
        return try out.withUnsafeBufferPointer { buffer throws(WireError) in try body(buffer, isASCII) }
    }

    /// The string's value as a Swift `String`; strings of up to 15 UTF-8 bytes are stored inline.
    func string(_ token: StringToken) throws(WireError) -> String {
        try withUnescaped(token) { buffer, isASCII throws(WireError) in try makeString(buffer, isASCII: isASCII, at: token.start) }
    }

    private func hex4At(_ i: Int) -> UInt16 {
        var value: UInt16 = 0
        for j in i..<(i + 4) { value = value << 4 | UInt16(hexValue(bytes[j])!) }
        return value
    }

    // MARK: Numbers and literals

    /// Scans a number with the exact JSON grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    mutating func scanNumber() throws(WireError) -> NumberToken {
        skipWhitespace()
        let start = position
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw unexpected("a digit") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) {
                throw .syntax(at: start, "numbers must not have leading zeros")
            }
        } else {
            skipDigits()
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw unexpected("a digit after '.'") }
            skipDigits()
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else { throw unexpected("a digit in the exponent") }
            skipDigits()
        }
        return NumberToken(start: start, end: position, isInteger: isInteger)
    }

    @inline(__always)
    private mutating func skipDigits() {
        while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }

    /// The integer value of an integer token, or nil if it does not fit in an Int64.
    func int64(_ token: NumberToken) -> Int64? {
        var i = token.start
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var magnitude: UInt64 = 0
        while i < token.end {
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(bytes[i] &- UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            magnitude = s
            i += 1
        }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    func double(_ token: NumberToken) -> Double? {
        Double(text(token.start, token.end))
    }

    func text(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// Consumes `null` if it is next.
    mutating func consumeNull() -> Bool { consumeLiteral("null") }

    /// Consumes `true` or `false`; nil if neither is next.
    mutating func consumeBool() -> Bool? {
        if consumeLiteral("true") { return true }
        if consumeLiteral("false") { return false }
        return nil
    }

    private mutating func consumeLiteral(_ literal: StaticString) -> Bool {
        skipWhitespace()
        let n = literal.utf8CodeUnitCount
        guard position + n <= bytes.count else { return false }
        let p = literal.utf8Start
        for i in 0..<n where bytes[position + i] != p[i] { return false }
        // A literal must not run into letters or digits (`nullx`, `true1`).
        if position + n < bytes.count, isIdentifierByte(bytes[position + n]) { return false }
        position += n
        return true
    }

    // MARK: Skipping

    /// The kind of the next value, for "expected a string, got …" messages.
    mutating func describeNextValue() -> String {
        switch peek() ?? 0 {
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "{"): "an object"
        case UInt8(ascii: "["): "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): "a number"
        default: "an invalid value"
        }
    }

    /// Skips one complete value of any type, validating it.
    mutating func skipValue(depth: Int = 0) throws(WireError) {
        switch peek() ?? 0 {
        case UInt8(ascii: "\""):
            let token = try scanString()
            if token.hasEscapes || !token.isASCII {
                _ = try withUnescaped(token) { buffer, isASCII throws(WireError) in try makeString(buffer, isASCII: isASCII, at: token.start) }
            }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
        case UInt8(ascii: "{"):
            try enterContainer(depth)
            position += 1
            if peek() == UInt8(ascii: "}") { position += 1; return }
            repeat {
                _ = try scanString("an object key (a string in double quotes)")
                try expect(UInt8(ascii: ":"), "':' after an object key")
                try skipValue(depth: depth + 1)
            } while try separatorOrClose(UInt8(ascii: "}"), "',' or '}' after an object member")
        case UInt8(ascii: "["):
            try enterContainer(depth)
            position += 1
            if peek() == UInt8(ascii: "]") { position += 1; return }
            repeat {
                try skipValue(depth: depth + 1)
            } while try separatorOrClose(UInt8(ascii: "]"), "',' or ']' after an array element")
        default:
            guard consumeNull() || consumeBool() != nil else { throw unexpected("a JSON value") }
        }
    }

    private func enterContainer(_ depth: Int) throws(WireError) {
        guard depth < maxDepth else {
            throw .syntax(at: position, "values nested deeper than \(maxDepth) levels (flatten the unknown field or drop it)")
        }
    }
}

@inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

@inline(__always) func isIdentifierByte(_ byte: UInt8) -> Bool {
    isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
}

func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
    UTF8.encode(scalar) { out.append($0) }
}

/// Builds a String from UTF-8 bytes, rejecting invalid UTF-8 instead of repairing it.
/// ASCII (the common case) skips validation; ≤15 bytes become an inline small string.
@inline(__always)
func makeString(_ buffer: UnsafeBufferPointer<UInt8>, isASCII: Bool, at offset: Int) throws(WireError) -> String {
    if isASCII { return String(decoding: buffer, as: UTF8.self) }
    guard let string = String(validating: buffer, as: UTF8.self) else {
        throw .syntax(at: offset, "a string is not valid UTF-8 (send text as UTF-8)")
    }
    return string
}
