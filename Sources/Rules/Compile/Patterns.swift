/// A SQL `LIKE` pattern compiled at load: `%` matches any run of characters, `_` exactly one,
/// `\%` and `\_` match themselves. Case-sensitive; matching is O(pattern × text) at worst.
struct LikePattern: Sendable {
    enum Element: Equatable, Sendable {
        case byte(UInt8)
        case one
        case any
    }

    let elements: [Element]

    init(_ pattern: String) {
        var elements: [Element] = []
        var escaped = false
        for byte in pattern.utf8 {
            if escaped {
                elements.append(.byte(byte))
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "%") {
                if elements.last != .any { elements.append(.any) }
            } else if byte == UInt8(ascii: "_") {
                elements.append(.one)
            } else {
                elements.append(.byte(byte))
            }
        }
        if escaped { elements.append(.byte(UInt8(ascii: "\\"))) }
        self.elements = elements
    }

    func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matches(bytes: $0) }
    }

    /// Greedy match with one backtrack point per `%`, as in classic wildcard matching.
    private func matches(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = bytes.count, m = elements.count
        var s = 0, p = 0
        var starP = -1, starS = 0
        func scalarEnd(_ i: Int) -> Int {
            var j = i + 1
            while j < n, bytes[j] & 0xC0 == 0x80 { j += 1 }
            return j
        }
        while s < n {
            if p < m {
                switch elements[p] {
                case .byte(let b) where b == bytes[s]:
                    s += 1; p += 1; continue
                case .one:
                    s = scalarEnd(s); p += 1; continue
                case .any:
                    starP = p; starS = s; p += 1; continue
                default:
                    break
                }
            }
            guard starP >= 0 else { return false }
            starS = scalarEnd(starS)
            s = starS
            p = starP + 1
        }
        while p < m, elements[p] == .any { p += 1 }
        return p == m
    }
}

/// A regular expression for `matches`, compiled at load. Matching runs on `LinearRegex` (a Pike
/// VM), so its cost is bounded by the pattern's size times the text's length, and one event cannot
/// stall the engine whatever the pattern: Swift's backtracking `Regex` took 7 s for
/// `a*a*a*a*a*a*b` on 40 bytes. Swift's `Regex` still parses the pattern (its syntax errors are the
/// errors reported) and decides each single-character atom, so the semantics are unchanged.
/// Also refused, as before: patterns over 256 bytes, back-references, and quantified groups that
/// contain a quantifier or an alternation (`(a+)+`, `(a|ab)*`); texts longer than 1024 bytes are
/// not searched (the test is unknown). The match is a search: anchor with `^` and `$` for a
/// whole-string match.
final class SafeRegex: Sendable {
    private let matcher: LinearRegex
    static let maxPatternBytes = 256
    static let maxTextBytes = 1024

    struct Problem: Error { var message: String }

    private init(_ matcher: LinearRegex) { self.matcher = matcher }

    static func compile(_ pattern: String) -> Result<SafeRegex, Problem> {
        if let problem = unsafeShape(pattern) { return .failure(Problem(message: problem)) }
        do {
            _ = try Regex(pattern)
        } catch {
            return .failure(Problem(message: "\(error)"))
        }
        do {
            return .success(SafeRegex(try LinearRegex(pattern)))
        } catch {
            return .failure(Problem(message: error.message))
        }
    }

    func matches(_ text: String) -> Truth {
        guard text.utf8.count <= SafeRegex.maxTextBytes else { return .unknown }
        return matcher.search(text).matched ? .yes : .no
    }

    /// The search with its VM step count, for the tests that bound it.
    func search(_ text: String) -> (matched: Bool, steps: Int) { matcher.search(text) }

    /// Instructions of the compiled program (steps per text character are at most twice this).
    var programSize: Int { matcher.program.count }

    /// Why the pattern is refused, or nil if its shape is safe.
    static func unsafeShape(_ pattern: String) -> String? {
        let bytes = Array(pattern.utf8)
        guard bytes.count <= maxPatternBytes else { return "pattern is longer than \(maxPatternBytes) bytes" }
        // Per open group: whether it contains a quantifier or an alternation.
        var groups: [(quantified: Bool, alternation: Bool)] = []
        var i = 0
        var inClass = false
        func isQuantifier(_ j: Int) -> Bool {
            j < bytes.count && (bytes[j] == UInt8(ascii: "*") || bytes[j] == UInt8(ascii: "+") || bytes[j] == UInt8(ascii: "?") || bytes[j] == UInt8(ascii: "{"))
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\\"), i + 1 < bytes.count {
                let e = bytes[i + 1]
                if !inClass, (e >= UInt8(ascii: "1") && e <= UInt8(ascii: "9")) || e == UInt8(ascii: "k") || e == UInt8(ascii: "g") {
                    return "back-references are not allowed"
                }
                i += 2
                continue
            }
            if inClass {
                if b == UInt8(ascii: "]") { inClass = false }
            } else if b == UInt8(ascii: "[") {
                inClass = true
            } else if b == UInt8(ascii: "(") {
                groups.append((false, false))
            } else if b == UInt8(ascii: "|") {
                if !groups.isEmpty { groups[groups.count - 1].alternation = true }
            } else if b == UInt8(ascii: ")") {
                let group = groups.popLast() ?? (false, false)
                if isQuantifier(i + 1), bytes[i + 1] != UInt8(ascii: "?") {
                    if group.quantified { return "nested quantifiers such as (a+)+ can take exponential time; rewrite without quantifying a quantified group" }
                    if group.alternation { return "a quantified alternation such as (a|ab)* can take exponential time; use a character class or list the cases with 'in'" }
                }
                if group.quantified || isQuantifier(i + 1), !groups.isEmpty { groups[groups.count - 1].quantified = true }
            } else if isQuantifier(i), !(i > 0 && bytes[i - 1] == UInt8(ascii: "(")), !groups.isEmpty {
                groups[groups.count - 1].quantified = true
            }
            i += 1
        }
        return nil
    }
}
