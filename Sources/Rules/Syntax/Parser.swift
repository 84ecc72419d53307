import FraudCore

/// Recursive-descent parser for rules files and standalone expressions.
///
/// Precedence, loosest first: `or`, `and`, `not`, comparisons (`== != < <= > >= in not in like
/// matches`, which do not chain), `+ -`, `* / %`, unary `-`, then literals, names, calls and
/// parentheses. A declaration with a syntax error is reported and skipped up to the next line that
/// starts a declaration, so one file reports all its errors at once.
struct Parser {
    private var tokens: [Token]
    private var position = 0
    /// Current recursion depth of the expression parser.
    private var nesting = 0
    private var sink: DiagnosticSink

    static let declarationKeywords: Set<String> = ["version", "let", "list", "rule", "shadow", "threshold"]
    static let reservedWords: Set<String> = declarationKeywords.union([
        "and", "or", "not", "in", "like", "matches", "if", "because", "true", "false", "where", "file",
        "allow", "review", "decline",
    ])

    private struct Failure: Error {}

    init(tokens: [Token], sink: DiagnosticSink) {
        self.tokens = tokens
        self.sink = sink
    }

    /// Parses a whole rules file.
    static func parseFile(_ text: String, path: String) -> ([Declaration], DiagnosticSink) {
        var sink = DiagnosticSink(file: path)
        let tokens = Lexer.tokenize(text, sink: &sink)
        var parser = Parser(tokens: tokens, sink: sink)
        let declarations = parser.parseDeclarations()
        return (declarations, parser.sink)
    }

    /// Parses one expression that must use all of `text` (the model's feature expressions).
    static func parseExpression(_ text: String, sink: inout DiagnosticSink) -> Expression.Node? {
        let tokens = Lexer.tokenize(text, sink: &sink)
        var parser = Parser(tokens: tokens, sink: sink)
        defer { sink = parser.sink }
        guard let node = try? parser.parseExpression() else { return nil }
        guard parser.current.kind == .endOfFile else {
            parser.sink.error("unexpected \(parser.current.display) after the expression", at: parser.current.location)
            return nil
        }
        return node
    }

    private var current: Token { tokens[position] }
    private var next: Token { tokens[min(position + 1, tokens.count - 1)] }

    @discardableResult
    private mutating func advance() -> Token {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    private mutating func fail(_ message: String, at location: SourceLocation? = nil) -> Failure {
        sink.error(message, at: location ?? current.location)
        return Failure()
    }

    private mutating func expect(_ symbol: Token.Symbol, _ context: String) throws {
        guard current.isSymbol(symbol) else { throw fail("expected '\(symbol.rawValue)' \(context), found \(current.display)") }
        advance()
    }

    private mutating func expectKeyword(_ word: String, _ context: String) throws {
        guard current.isKeyword(word) else { throw fail("expected '\(word)' \(context), found \(current.display)") }
        advance()
    }

    private mutating func expectName(_ what: String) throws -> (String, SourceLocation) {
        guard let name = current.identifier else { throw fail("expected \(what), found \(current.display)") }
        guard !Parser.reservedWords.contains(name) else { throw fail("'\(name)' is a reserved word and cannot be \(what)") }
        guard !name.contains(".") else { throw fail("\(what) cannot contain '.': '\(name)'") }
        return (name, advance().location)
    }

    // MARK: Declarations

    private mutating func parseDeclarations() -> [Declaration] {
        var declarations: [Declaration] = []
        while current.kind != .endOfFile {
            nesting = 0
            do {
                declarations.append(try parseDeclaration())
            } catch {
                recover()
            }
        }
        return declarations
    }

    /// Skips to the next token that starts a line with a declaration keyword.
    private mutating func recover() {
        var line = current.location.line
        advance()
        while current.kind != .endOfFile {
            if current.location.line > line, let word = current.identifier, Parser.declarationKeywords.contains(word) { return }
            line = current.location.line
            advance()
        }
    }

    private mutating func parseDeclaration() throws -> Declaration {
        let start = current.location
        guard let word = current.identifier, Parser.declarationKeywords.contains(word) else {
            let hint = current.identifier.map { Suggestion.hint(for: $0, in: Parser.declarationKeywords) } ?? ""
            throw fail("expected a declaration (rule, shadow rule, let, list, threshold or version), found \(current.display)\(hint)")
        }
        advance()
        switch word {
        case "version":
            guard case .string(let label) = current.kind else { throw fail("expected the version label as a string, e.g. version \"v12\"") }
            advance()
            guard !label.isEmpty, label.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "+") }) else {
                throw fail("version label must be non-empty printable ASCII without spaces or '+'", at: start)
            }
            return .version(label, start)
        case "let":
            let (name, _) = try expectName("a let name")
            try expect(.assign, "after the let name")
            return .binding(name: name, try parseExpression(), start)
        case "list":
            let (name, _) = try expectName("a list name")
            try expect(.assign, "after the list name")
            if current.isKeyword("file") {
                advance()
                try expect(.leftParen, "after 'file'")
                guard case .string(let path) = current.kind else { throw fail("expected the list file path as a string") }
                let pathAt = advance().location
                try expect(.rightParen, "after the list file path")
                return .list(name: name, .file(path, pathAt), start)
            }
            guard current.isSymbol(.leftBracket) else { throw fail("expected '[' or file(\"…\") after 'list \(name) ='") }
            let listNode = try parsePrimary()
            guard case .list(let elements) = listNode.expression else { throw fail("expected a list literal") }
            return .list(name: name, .inline(elements), start)
        case "shadow":
            try expectKeyword("rule", "after 'shadow'")
            return .rule(try parseRule(start: start, shadow: true))
        case "rule":
            return .rule(try parseRule(start: start, shadow: false))
        default:
            return .threshold(try parseThreshold(start: start))
        }
    }

    private mutating func parseAction() throws -> RuleAction {
        guard let word = current.identifier else { throw fail("expected an action (allow, review or decline), found \(current.display)") }
        guard let action = RuleAction(rawValue: word) else {
            throw fail("unknown action '\(word)'\(Suggestion.hint(for: word, in: RuleAction.allCases.map(\.rawValue))); actions are allow, review and decline")
        }
        advance()
        return action
    }

    private mutating func parseRule(start: SourceLocation, shadow: Bool) throws -> RuleSyntax {
        let (name, _) = try expectName("a rule name")
        try expect(.colon, "after the rule name")
        let action = try parseAction()
        var points = 0
        if current.isSymbol(.plus) || current.isSymbol(.minus) {
            let negative = advance().isSymbol(.minus)
            guard case .integer(let value) = current.kind, value <= 1_000_000 else {
                throw fail("expected whole risk points after '\(negative ? "-" : "+")' (at most 1000000)")
            }
            advance()
            points = negative ? -Int(value) : Int(value)
        }
        try expectKeyword("if", "before the rule's condition")
        let condition = try parseExpression()
        var reason: TemplateSyntax?
        if current.isKeyword("because") {
            advance()
            guard case .string(let text) = current.kind else { throw fail("expected the reason as a string after 'because'") }
            let token = advance()
            reason = try parseTemplate(text, columns: token.stringColumns, at: token.location)
        }
        return RuleSyntax(name: name, location: start, shadow: shadow, action: action, points: points, condition: condition, reason: reason)
    }

    private mutating func parseThreshold(start: SourceLocation) throws -> ThresholdSyntax {
        var name: String?
        if let word = current.identifier, RuleAction(rawValue: word) == nil, next.isSymbol(.colon) {
            name = try expectName("a threshold name").0
            advance()
        }
        let action = try parseAction()
        try expectKeyword("if", "before the threshold's condition")
        let conditionStart = current.location
        return ThresholdSyntax(name: name, location: start, action: action, condition: try parseExpression(), conditionStart: conditionStart)
    }

    /// `"{count(card_fingerprint,10m)} charges in 10 minutes"`; `{{` and `}}` are literal braces.
    /// `columns` are the source columns of the text's UTF-8 bytes (escapes such as `\"` take two).
    private mutating func parseTemplate(_ text: String, columns: [Int], at location: SourceLocation) throws -> TemplateSyntax {
        var parts: [TemplateSyntax.Part] = []
        var literal = ""
        let characters = Array(text)
        // Byte offset of each character, to look its column up.
        var offsets: [Int] = []
        var offset = 0
        for character in characters {
            offsets.append(offset)
            offset += character.utf8.count
        }
        func column(_ i: Int) -> Int {
            if i < characters.count, offsets[i] < columns.count { return columns[offsets[i]] }
            return (columns.last ?? location.column) + 1
        }
        func at(_ i: Int) -> SourceLocation { SourceLocation(line: location.line, column: column(i)) }
        var i = 0
        while i < characters.count {
            let c = characters[i]
            if c == "{", i + 1 < characters.count, characters[i + 1] == "{" {
                literal.append("{"); i += 2; continue
            }
            if c == "}", i + 1 < characters.count, characters[i + 1] == "}" {
                literal.append("}"); i += 2; continue
            }
            if c == "}" { throw fail("unmatched '}' in reason; write '}}' for a literal brace", at: at(i)) }
            if c == "{" {
                guard let close = characters[(i + 1)...].firstIndex(of: "}") else {
                    throw fail("unclosed '{' in reason", at: at(i))
                }
                let source = String(characters[(i + 1)..<close])
                if !literal.isEmpty { parts.append(.text(literal)); literal = "" }
                var inner = sink
                let tokens = Lexer.tokenize(source, origin: at(i + 1), sink: &inner)
                var parser = Parser(tokens: tokens, sink: inner)
                let node = try? parser.parseExpression()
                if node != nil, parser.current.kind != .endOfFile {
                    parser.sink.error("unexpected \(parser.current.display) in reason placeholder", at: parser.current.location)
                }
                sink = parser.sink
                guard let node, parser.current.kind == .endOfFile else { throw Failure() }
                parts.append(.hole(node, source: source.trimmingWhitespace))
                i = close + 1
                continue
            }
            literal.append(c)
            i += 1
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        return TemplateSyntax(parts: parts, location: location)
    }

    // MARK: Expressions

    /// Deeper expressions are refused: compiling and evaluating recurse once per level.
    static let maxDepth = 100

    /// Enters one level of recursion; the caller undoes it with `defer { nesting -= 1 }`.
    private mutating func descend() throws {
        nesting += 1
        guard nesting <= Parser.maxDepth else {
            throw fail("expression is nested more than \(Parser.maxDepth) levels deep; split it into lets or use a list")
        }
    }

    private mutating func checked(_ node: Expression.Node) throws -> Expression.Node {
        guard node.depth <= Parser.maxDepth else {
            throw fail("expression is nested more than \(Parser.maxDepth) levels deep; split it into lets or use a list", at: node.location)
        }
        return node
    }

    mutating func parseExpression() throws -> Expression.Node {
        try descend()
        defer { nesting -= 1 }
        var left = try parseAnd()
        while current.isKeyword("or") {
            let at = advance().location
            left = try checked(Expression.Node(.binary(.or, left, try parseAnd()), at: at))
        }
        return left
    }

    private mutating func parseAnd() throws -> Expression.Node {
        var left = try parseNot()
        while current.isKeyword("and") {
            let at = advance().location
            left = try checked(Expression.Node(.binary(.and, left, try parseNot()), at: at))
        }
        return left
    }

    private mutating func parseNot() throws -> Expression.Node {
        if current.isKeyword("not") {
            let at = advance().location
            try descend()
            defer { nesting -= 1 }
            return try checked(Expression.Node(.not(try parseNot()), at: at))
        }
        return try parseComparison()
    }

    private mutating func comparisonOperator() -> BinaryOperator? {
        switch current.kind {
        case .symbol(.equal): .equal
        case .symbol(.notEqual): .notEqual
        case .symbol(.less): .less
        case .symbol(.lessEqual): .lessEqual
        case .symbol(.greater): .greater
        case .symbol(.greaterEqual): .greaterEqual
        case .identifier("in"): .isIn
        case .identifier("like"): .like
        case .identifier("matches"): .matches
        case .identifier("not") where next.isKeyword("in"): .notIn
        default: nil
        }
    }

    private mutating func parseComparison() throws -> Expression.Node {
        let left = try parseAdditive()
        if current.isSymbol(.assign) { throw fail("'=' assigns; compare with '=='") }
        guard let op = comparisonOperator() else { return left }
        let opAt = advance().location
        if op == .notIn { advance() }
        let right = try parseAdditive()
        if comparisonOperator() != nil {
            throw fail("comparisons do not chain; join them with 'and'", at: current.location)
        }
        return try checked(Expression.Node(.binary(op, left, right), at: opAt))
    }

    private mutating func parseAdditive() throws -> Expression.Node {
        var left = try parseMultiplicative()
        while current.isSymbol(.plus) || current.isSymbol(.minus) {
            let opToken = advance()
            let op: BinaryOperator = opToken.isSymbol(.plus) ? .add : .subtract
            left = try checked(Expression.Node(.binary(op, left, try parseMultiplicative()), at: opToken.location))
        }
        return left
    }

    private mutating func parseMultiplicative() throws -> Expression.Node {
        var left = try parseUnary()
        while true {
            let op: BinaryOperator
            switch current.kind {
            case .symbol(.star): op = .multiply
            case .symbol(.slash): op = .divide
            case .symbol(.percent): op = .remainder
            default: return left
            }
            let at = advance().location
            left = try checked(Expression.Node(.binary(op, left, try parseUnary()), at: at))
        }
    }

    private mutating func parseUnary() throws -> Expression.Node {
        if current.isSymbol(.minus) {
            let at = advance().location
            try descend()
            defer { nesting -= 1 }
            return try checked(Expression.Node(.negate(try parseUnary()), at: at))
        }
        return try parsePrimary()
    }

    /// `5.00 USD`: a number followed by a three-letter upper-case code.
    private mutating func moneySuffix(_ number: String) throws -> Expression? {
        guard let code = current.identifier, code.utf8.count == 3, code.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else { return nil }
        guard let currency = Currency(code) else { throw fail("unknown currency '\(code)'; use an ISO 4217 code such as USD or EUR") }
        advance()
        return .money(number, currency)
    }

    private mutating func parsePrimary() throws -> Expression.Node {
        let token = current
        let at = token.location
        switch token.kind {
        case .integer(let value):
            advance()
            return Expression.Node(try moneySuffix(String(value)) ?? .integer(value), at: at)
        case .decimal(let text):
            advance()
            return Expression.Node(try moneySuffix(text) ?? .decimal(text), at: at)
        case .string(let text):
            advance()
            return Expression.Node(.string(text), at: at)
        case .duration(let duration):
            advance()
            return Expression.Node(.duration(duration), at: at)
        case .listReference(let name):
            advance()
            return Expression.Node(.listReference(name), at: at)
        case .symbol(.leftParen):
            advance()
            let inner = try parseExpression()
            try expect(.rightParen, "to close '(' at \(at)")
            return inner
        case .symbol(.leftBracket):
            advance()
            // Elements are literals: a list inside a list is refused here, before it can recurse.
            try descend()
            defer { nesting -= 1 }
            var elements: [Expression.Node] = []
            if !current.isSymbol(.rightBracket) {
                repeat {
                    if current.isSymbol(.comma) { advance() }
                    if current.isSymbol(.rightBracket) { break }
                    if current.isSymbol(.leftBracket) {
                        throw fail("lists cannot be nested; a list holds literals (strings or numbers)")
                    }
                    elements.append(try parseUnary())
                } while current.isSymbol(.comma)
            }
            try expect(.rightBracket, "to close the list at \(at)")
            return try checked(Expression.Node(.list(elements), at: at))
        case .identifier(let name):
            switch name {
            case "true", "false":
                advance()
                return Expression.Node(.boolean(name == "true"), at: at)
            case _ where Parser.reservedWords.contains(name):
                throw fail("expected a value, found keyword '\(name)'")
            default:
                advance()
                guard current.isSymbol(.leftParen) else {
                    return Expression.Node(.name(name), at: at)
                }
                advance()
                return try parseCall(name, at: at)
            }
        case .symbol(let symbol):
            throw fail("expected a value, found '\(symbol.rawValue)'")
        case .endOfFile:
            throw fail("expected a value, found end of file")
        }
    }

    private mutating func parseCall(_ name: String, at: SourceLocation) throws -> Expression.Node {
        var arguments: [Expression.Node] = []
        var filter: Expression.Node?
        if !current.isSymbol(.rightParen) {
            while true {
                if current.isKeyword("where") {
                    advance()
                    filter = try parseExpression()
                    break
                }
                arguments.append(try parseExpression())
                guard current.isSymbol(.comma) else { break }
                advance()
            }
        }
        try expect(.rightParen, "to close the call to '\(name)'")
        return Expression.Node(.call(name, arguments, filter: filter), at: at)
    }
}
