import FraudCore

/// Turns rules source text into tokens. Errors are reported to the sink and the lexer carries on,
/// so one stray character does not hide the rest of the file's problems.
struct Lexer {
    private let bytes: [UInt8]
    private var index = 0
    private var line: Int
    private var column: Int
    /// Source columns of the bytes of the last string lexed (`Token.stringColumns`).
    private var stringColumns: [Int] = []

    /// - Parameter origin: where `text` starts in its file (reason templates lex their `{…}` parts in place).
    init(_ text: String, origin: SourceLocation = SourceLocation(line: 1, column: 1)) {
        self.bytes = Array(text.utf8)
        self.line = origin.line
        self.column = origin.column
    }

    static func tokenize(_ text: String, origin: SourceLocation = SourceLocation(line: 1, column: 1), sink: inout DiagnosticSink) -> [Token] {
        var lexer = Lexer(text, origin: origin)
        var tokens: [Token] = []
        while true {
            let token = lexer.next(sink: &sink)
            tokens.append(token)
            if token.kind == .endOfFile { return tokens }
        }
    }

    private var here: SourceLocation { SourceLocation(line: line, column: column) }
    private func peek(_ offset: Int = 0) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }

    private mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if bytes[index] & 0xC0 != 0x80 {
            column += 1
        }
        index += 1
    }

    private mutating func skipTrivia() -> Bool {
        var skipped = false
        while let byte = peek() {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                advance()
            } else if byte == UInt8(ascii: "#") {
                while let b = peek(), b != UInt8(ascii: "\n") { advance() }
            } else {
                break
            }
            skipped = true
        }
        return skipped
    }

    mutating func next(sink: inout DiagnosticSink) -> Token {
        while true {
            let spaced = skipTrivia() || index == 0
            let start = here
            guard let byte = peek() else { return Token(kind: .endOfFile, location: start, precededBySpace: spaced) }
            if let kind = lexToken(startingWith: byte, at: start, sink: &sink) {
                var token = Token(kind: kind, location: start, precededBySpace: spaced)
                if case .string = kind { token.stringColumns = stringColumns }
                return token
            }
        }
    }

    /// Lexes one token; nil after reporting an unusable character (the caller then tries again).
    private mutating func lexToken(startingWith byte: UInt8, at start: SourceLocation, sink: inout DiagnosticSink) -> Token.Kind? {
        if Lexer.isIdentifierStart(byte) { return .identifier(lexName()) }
        if Lexer.isDigit(byte) { return lexNumber(at: start, sink: &sink) }
        if byte == UInt8(ascii: "\"") { return lexString(at: start, sink: &sink) }
        if byte == UInt8(ascii: "@") {
            advance()
            guard let b = peek(), Lexer.isIdentifierStart(b) else {
                sink.error("expected a list name after '@'", at: start)
                return nil
            }
            return .listReference(lexName())
        }
        let two: String? = peek(1).map { String(decoding: [byte, $0], as: UTF8.self) }
        if let two, let symbol = Token.Symbol(rawValue: two) {
            advance()
            advance()
            return .symbol(symbol)
        }
        if let symbol = Token.Symbol(rawValue: String(decoding: [byte], as: UTF8.self)) {
            advance()
            return .symbol(symbol)
        }
        // Skip a whole UTF-8 sequence so the column stays right.
        advance()
        while let b = peek(), b & 0xC0 == 0x80 { advance() }
        let hint = byte == UInt8(ascii: "&") ? "; write 'and'" : byte == UInt8(ascii: "|") ? "; write 'or'" :
            byte == UInt8(ascii: "'") ? "; strings use double quotes" : ""
        let shown = byte < 0x80 ? String(decoding: [byte], as: UTF8.self) : "non-ASCII character"
        sink.error("unexpected character '\(shown)'\(hint)", at: start)
        return nil
    }

    static func isIdentifierStart(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) || b == UInt8(ascii: "_")
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    static func isIdentifierPart(_ b: UInt8) -> Bool { isIdentifierStart(b) || isDigit(b) }

    /// `name`, `metadata.scenario`: dots join name parts so metadata keys read as one name.
    private mutating func lexName() -> String {
        let begin = index
        while let b = peek(), Lexer.isIdentifierPart(b) { advance() }
        while peek() == UInt8(ascii: "."), let b = peek(1), Lexer.isIdentifierPart(b) {
            advance()
            while let b = peek(), Lexer.isIdentifierPart(b) { advance() }
        }
        return String(decoding: bytes[begin..<index], as: UTF8.self)
    }

    /// Stands in for a malformed number so the parser does not report the same mistake twice;
    /// the file already has an error and will not load.
    private static let poison = Token.Kind.duration(EventDuration(milliseconds: 1))

    private mutating func lexNumber(at start: SourceLocation, sink: inout DiagnosticSink) -> Token.Kind? {
        let begin = index
        while let b = peek(), Lexer.isDigit(b) { advance() }
        var isDecimal = false
        if peek() == UInt8(ascii: "."), let b = peek(1), Lexer.isDigit(b) {
            isDecimal = true
            advance()
            while let b = peek(), Lexer.isDigit(b) { advance() }
        }
        let digitsEnd = index
        while let b = peek(), Lexer.isIdentifierPart(b) { advance() }
        let text = String(decoding: bytes[begin..<index], as: UTF8.self)
        if index > digitsEnd {
            let unit = String(decoding: bytes[digitsEnd..<index], as: UTF8.self)
            guard !isDecimal else {
                sink.error("durations are whole numbers of a unit: write '\(text)' as a whole number of ms, s, m, h or d", at: start)
                return Lexer.poison
            }
            guard let duration = EventDuration(parsing: text) else {
                let known = ["ms", "s", "m", "h", "d"].contains(unit)
                sink.error(known ? "duration '\(text)' is too large" : "unknown duration unit '\(unit)' in '\(text)'; use ms, s, m, h or d", at: start)
                return Lexer.poison
            }
            return .duration(duration)
        }
        if isDecimal { return .decimal(text) }
        guard let value = Int64(text) else {
            sink.error("integer '\(text)' is too large", at: start)
            return .integer(0)
        }
        return .integer(value)
    }

    private mutating func lexString(at start: SourceLocation, sink: inout DiagnosticSink) -> Token.Kind? {
        advance()
        var out: [UInt8] = []
        stringColumns = []
        while let b = peek() {
            if b == UInt8(ascii: "\"") {
                advance()
                return .string(String(decoding: out, as: UTF8.self))
            }
            if b == UInt8(ascii: "\n") { break }
            if b == UInt8(ascii: "\\") {
                let escapeAt = here
                advance()
                guard let e = peek(), e != UInt8(ascii: "\n") else { break }
                advance()
                switch e {
                case UInt8(ascii: "\""): out.append(e)
                case UInt8(ascii: "\\"): out.append(e)
                case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
                default:
                    sink.error("unknown escape '\\\(String(decoding: [e], as: UTF8.self))' in string; use \\\", \\\\, \\n or \\t", at: escapeAt)
                }
                while stringColumns.count < out.count { stringColumns.append(escapeAt.column) }
                continue
            }
            out.append(b)
            stringColumns.append(column)
            advance()
        }
        sink.error("unterminated string; close it with '\"' on the same line", at: start)
        return .string(String(decoding: out, as: UTF8.self))
    }
}
