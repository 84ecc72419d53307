import Testing
@testable import Rules

/// `matches` runs on a Pike VM: bounded steps on any pattern and text, and the same answers as
/// Swift's `Regex` search, which it replaced.
struct LinearRegexTests {
    static func regex(_ pattern: String) throws -> SafeRegex {
        switch SafeRegex.compile(pattern) {
        case .success(let regex): return regex
        case .failure(let problem): throw problem
        }
    }

    /// What `matches` answered before: Swift's `Regex` search.
    static func reference(_ pattern: String, _ text: String) -> Bool {
        (try? Regex(pattern).firstMatch(in: text)) != nil
    }

    /// Backtracking took seconds to minutes on these (7 s for the first on 40 bytes, > 60 s on 250;
    /// 5.5 s for the second on 250 bytes). The VM's steps are bounded by (text characters + 1) × 2 ×
    /// program size: counted, not timed.
    @Test(arguments: [
        ("a*a*a*a*a*a*b", String(repeating: "a", count: 256), false),
        ("[a-z]+[a-z0-9]*[a-z0-9]*[0-9]@", String(repeating: "a", count: 250) + "1", false),
        ("[a-z]+[a-z0-9]*[a-z0-9]*[0-9]@", String(repeating: "a", count: 250) + "1@", true),
        ("^[a-z ]*[a-z]*[a-z ]*$", String(repeating: "ab ", count: 85) + "!", false),
        (".*.*.*.*.*=", String(repeating: "x", count: 256), false),
        (String(repeating: "a?", count: 40) + String(repeating: "a", count: 40), String(repeating: "a", count: 40), true),
        (String(repeating: "a?", count: 40) + String(repeating: "a", count: 40), String(repeating: "a", count: 39), false),
        ("\\d+\\d*\\d*\\d*x", String(repeating: "1", count: 256), false),
        ("(?i)[a-z]+[a-z]*[a-z]*é", String(repeating: "É", count: 100) + "ü", false),
        ("\\bword\\b.*\\b.*\\b.*!", String(repeating: "word ", count: 51), false),
        ("a{0,200}a{0,200}b", String(repeating: "a", count: 256), false),
    ])
    func worstCasesTakeBoundedSteps(_ pattern: String, _ text: String, _ expected: Bool) throws {
        let regex = try Self.regex(pattern)
        let (matched, steps) = regex.search(text)
        #expect(matched == expected)
        let bound = (text.count + 1) * 2 * regex.programSize
        #expect(steps <= bound, "\(steps) steps, bound \(bound)")
        #expect(regex.matches(text) == (expected ? .yes : .no))
    }

    static let patterns = [
        "abc", "^abc$", "^$", "", "a|b|", "a||b", "(a|b)c", "(?:ab)+c", "x*", "a+b?c{2}", "a{2,3}", "a{,2}b", "a{2,}",
        "a{ 2 }", "a{2 ,3}", "x{a}", "a{", "a{1", "a{1,", "a{,}", "x{1,2}{", "}", "a}", "]", "a]",
        ".", "a.c", "(?s)a.c", "(?i)ABC", "(?i:a)b", "(a(?i)b)c", "a(?i)b|c", "(?-i)a", "(?^i)A", "(?i)(?-i:a)b", "(?)a",
        "[a-z]+@[a-z]+\\.com$", "[^a-z]", "[a-c[x]]", "[[:alpha:]]+", "[\\w.-]+", "[a\\-z]", "[-a]", "[a-c-e]", "[a-z&&[^e]]", "[a--b]",
        "\\d+", "\\D", "\\w+", "\\W", "\\s", "\\S", "\\h", "\\v", "\\R", "\\X", "\\p{L}+", "\\P{L}", "[\\p{Lu}]",
        "\\.", "\\-", "\\/", "\\@", "\\#", "\\ ", "\\t", "\\n", "\\r", "\\\\", "\\$",
        "\\Aab", "ab\\z", "\\bcom\\b", "\\bé", "a\\b", "\\Bb", "b\\B",
        "é", "e\u{301}", "é+", "😀+", "🇫🇷", ".{2}", "K", "\u{212A}", "[k]", ";", "\u{037E}", "\r\n", "(?i)é", "(?i)k", "(?i)ß",
        "a*?b", "a{1}?", "(a)(b)?", "(?<n>a)b", "(?P<n>a)", "(?'n'a)", "()", "(|a)", "(?:)",
        "mailinator|guerrillamail", "@(mailinator|guerrillamail)\\.com$", "^test_", "[0-9]{4}-[0-9]{2}",
    ]

    static let texts = [
        "", "a", "b", "c", "ab", "abc", "xabcx", "aa", "aab", "aac", "aabcc", "abcc", "aaa", "aaaa", "x", "xx", "x{a}", "a{", "a{1", "a{1,",
        "a{,}", "x{", "}", "a}", "]", "a]", "a\nc", "a\rc", "ABC", "Ab", "AB", "aBc", "aBC", "C", "A", "-", "e", "z", "9",
        "user@example.com", "user@example.co", "a.b-c", "mail.com", "x com", "a ", " é", "é", "e\u{301}", "éé", "e\u{301}e\u{301}",
        "😀😀", "🇫🇷", "🇫🇷🇫🇷", "K", "\u{212A}", ";", "\u{037E}", "\r\n", "a\r\nb", "\t", "\n", "\r", " ", "\u{00A0}", "١٢", "½",
        "É", "SS", "ß", "s", "#", "@", "/", "\\", "$", ".", "ü", "test_1", "a@mailinator.com", "2026-11", "1234-56",
    ]

    /// Every pattern of the table against every text, as Swift's `Regex` answers.
    @Test(arguments: patterns)
    func answersAsSwiftRegexDid(_ pattern: String) throws {
        let regex = try Self.regex(pattern)
        for text in Self.texts {
            #expect(regex.matches(text) == (Self.reference(pattern, text) ? .yes : .no), "\(pattern.debugDescription) on \(text.debugDescription)")
        }
    }

    /// Random patterns from the supported grammar (nested quantifiers included, which the VM runs
    /// although `matches` still refuses them) against random short texts.
    @Test func randomPatternsAnswerAsSwiftRegex() throws {
        var random = SplitMix(seed: 20261130)
        let letters = ["a", "b", "é", "e\u{301}", "-", ".", " ", "\n"]
        func atom() -> String {
            switch random.next(12) {
            case 0: return "."
            case 1: return "[ab]"
            case 2: return "[^a]"
            case 3: return "\\w"
            case 4: return "\\s"
            case 5: return "[a-e]"
            case 6: return "\\."
            default:
                let letter = letters[random.next(letters.count)]
                return letter == "." ? "\\." : letter
            }
        }
        func expression(_ depth: Int) -> String {
            var parts: [String] = []
            for _ in 0..<(1 + random.next(3)) {
                var part: String
                if depth > 0, random.next(4) == 0 {
                    let branches = (0..<(1 + random.next(2))).map { _ in expression(depth - 1) }
                    part = (random.next(3) == 0 ? "(?i:" : "(") + branches.joined(separator: "|") + ")"
                } else if random.next(10) == 0 {
                    part = ["^", "$", "\\b", "\\B"][random.next(4)]
                    parts.append(part)
                    continue
                } else {
                    part = atom()
                }
                switch random.next(8) {
                case 0: part += "*"
                case 1: part += "+"
                case 2: part += "?"
                case 3: part += "{\(random.next(2)),\(1 + random.next(2))}"
                case 4: part += "*?"
                default: break
                }
                parts.append(part)
            }
            return parts.joined()
        }
        var checked = 0
        for _ in 0..<400 {
            let pattern = expression(2)
            guard (try? Regex(pattern)) != nil, let linear = try? LinearRegex(pattern) else { continue }
            for _ in 0..<12 {
                let text = (0..<random.next(7)).map { _ in ["a", "b", "é", "e\u{301}", "-", ".", " ", "\n", "A", "x"][random.next(10)] }.joined()
                #expect(linear.search(text).matched == Self.reference(pattern, text), "\(pattern.debugDescription) on \(text.debugDescription)")
                checked += 1
            }
        }
        #expect(checked > 3000)
    }

    /// What the VM does not run is refused at load with the construct named, not run by backtracking.
    @Test(arguments: [
        ("(?=a)a", "lookahead is not supported"),
        ("(?<!a)b", "lookbehind is not currently supported"),
        ("(?>a)", "an atomic group (?>…) is not supported"),
        ("a*+b", "a possessive quantifier (such as a*+) is not supported"),
        ("(?m)^a", "the option 'm' in '(?…)' is not supported"),
        ("\\Qa.b\\E", "'\\Q' is not supported"),
        ("a\\Z", "'\\Z' is not supported"),
        ("\\x41", "'\\x' is not supported"),
        ("\\r\\n", "'\\r' followed by '\\n' as separate parts is not supported"),
        ("[a-z]{5000}", "the pattern expands to more than 4096 steps; use smaller repetition counts"),
    ])
    func unsupportedConstructsAreRefused(_ pattern: String, _ message: String) {
        guard case .failure(let problem) = SafeRegex.compile(pattern) else {
            Issue.record("\(pattern) compiled")
            return
        }
        #expect(problem.message.hasPrefix(message), "\(problem.message)")
    }
}

/// A small deterministic generator for the random patterns.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
