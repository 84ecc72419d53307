import FraudCore

/// One lexical token of the rules language.
struct Token: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// Names, keywords and dotted names (`metadata.scenario`); keywords are recognised by the parser.
        case identifier(String)
        case integer(Int64)
        /// A decimal literal with its source text, kept so money literals convert exactly.
        case decimal(String)
        case string(String)
        case duration(EventDuration)
        /// `@blocked_devices`
        case listReference(String)
        case symbol(Symbol)
        case endOfFile
    }

    enum Symbol: String, Sendable, CaseIterable {
        case leftParen = "(", rightParen = ")", leftBracket = "[", rightBracket = "]"
        case comma = ",", colon = ":", assign = "="
        case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
        case plus = "+", minus = "-", star = "*", slash = "/", percent = "%"
    }

    var kind: Kind
    var location: SourceLocation
    /// Whether whitespace or a comment separates this token from the previous one.
    var precededBySpace: Bool
    /// For a string: the source column of each UTF-8 byte of its value (an escape such as `\"` is
    /// two columns for one byte), so positions inside it (reason templates) are reported exactly.
    var stringColumns: [Int] = []

    var identifier: String? {
        if case .identifier(let name) = kind { return name }
        return nil
    }

    func isSymbol(_ symbol: Symbol) -> Bool { kind == .symbol(symbol) }
    func isKeyword(_ word: String) -> Bool { kind == .identifier(word) }

    /// How the token is quoted in error messages.
    var display: String {
        switch kind {
        case .identifier(let name): "'\(name)'"
        case .integer(let value): "'\(value)'"
        case .decimal(let text): "'\(text)'"
        case .string(let text): "string \"\(text)\""
        case .duration(let duration): "'\(duration)'"
        case .listReference(let name): "'@\(name)'"
        case .symbol(let symbol): "'\(symbol.rawValue)'"
        case .endOfFile: "end of file"
        }
    }
}
