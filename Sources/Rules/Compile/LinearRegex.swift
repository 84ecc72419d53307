/// The matcher behind `matches`: a pattern compiled to a Thompson NFA and searched with a Pike VM
/// (all NFA states advance together, one text character at a time), so a search costs at most
/// (text characters + 1) × program size steps, whatever the pattern and the text. Swift's `Regex`
/// backtracks: `a*a*a*a*a*a*b` took 7 s on 40 bytes.
///
/// The semantics are Swift `Regex`'s (`Regex(pattern).firstMatch(in:)`, as `matches` used
/// before): a search, texts read as `Character`s (grapheme clusters), `^`/`$` at the start/end of
/// the text only. Each single-character atom (a literal, `.`, a class such as `[a-z0-9._%+-]`, an
/// escape such as `\d`, `\w`, `\p{L}`) is decided by Swift's own `Regex` for that atom on one
/// character (precomputed for ASCII, memoised per search otherwise), so classes, case-insensitive
/// matching and Unicode behave exactly as before; only the way the atoms are combined is new, and
/// for a yes/no search that cannot change the answer.
///
/// Supported: literals; `.`; `[…]` classes; escapes of punctuation, `\t \n \r \f \e \a`, `\d \D \w \W
/// \s \S \h \H \v \V \R \X`, `\p{…} \P{…}`; anchors `^ $ \A \z \b \B`; groups `(…)`, `(?:…)`,
/// `(?<name>…)`, `(?P<name>…)`, `(?'name'…)`; alternation; quantifiers `* + ? {n} {n,} {n,m} {,m}`
/// (also lazy, `*?`); the options `i` and `s` as `(?i)`, `(?-i)`, `(?i:…)`, `(?^i)`. Anything else Swift
/// accepts (lookaround, atomic groups, possessive quantifiers, other options, `\Q…\E`, numeric
/// escapes, `\Z`, `\G`, `\K`, back-references…) is refused with an error naming it.
final class LinearRegex: @unchecked Sendable {
    // Immutable after init; a Regex's matching does not mutate it.

    /// A program longer than this (counted repetitions are expanded) is refused.
    static let maxInstructions = 4096

    struct Unsupported: Error { var message: String }

    enum Op: UInt8 {
        /// Consume one character if atom `a` matches it.
        case atom
        /// Continue at `a` and at `b`.
        case split
        case jump
        case textStart, textEnd, wordBoundary, notWordBoundary
        case match
    }

    struct Instruction {
        var op: Op
        var a: Int32 = 0
        var b: Int32 = 0
    }

    /// One single-character test, decided by Swift's `Regex` for that atom.
    struct Atom {
        let regex: Regex<AnyRegexOutput>
        /// Whether each ASCII character (one scalar below 128) matches, as two 64-bit masks.
        let low: UInt64
        let high: UInt64

        @inline(__always)
        func matches(ascii scalar: Int) -> Bool {
            scalar < 64 ? low & (1 << UInt64(scalar)) != 0 : high & (1 << UInt64(scalar - 64)) != 0
        }

        func matches(_ character: String) -> Bool {
            (try? regex.wholeMatch(in: character)) != nil
        }
    }

    let program: [Instruction]
    let atoms: [Atom]
    /// Whether the program has `\b` or `\B` (the text's word boundaries are then computed).
    let usesWordBoundaries: Bool

    // Immutable; matching does not mutate a Regex.
    nonisolated(unsafe) private static let wordBoundary = try! Regex("\\b")

    /// Compiles `pattern`, which Swift's `Regex` has already accepted.
    init(_ pattern: String) throws(Unsupported) {
        var parser = PatternParser(Array(pattern.unicodeScalars))
        let tree = try parser.parse()
        var emitter = Emitter()
        try emitter.emit(tree)
        emitter.program.append(Instruction(op: .match))
        program = emitter.program
        var atoms: [Atom] = []
        for spec in parser.atoms {
            guard let regex = try? Regex(spec.source) else {
                throw Unsupported(message: "cannot compile the part '\(spec.source)'")
            }
            var low: UInt64 = 0, high: UInt64 = 0
            for scalar in 0..<128 {
                let bit: Bool
                if let literal = spec.asciiLiteral {
                    bit = scalar == Int(literal)
                } else {
                    bit = (try? regex.wholeMatch(in: String(Unicode.Scalar(UInt8(scalar))))) != nil
                }
                if bit {
                    if scalar < 64 { low |= 1 << UInt64(scalar) } else { high |= 1 << UInt64(scalar - 64) }
                }
            }
            atoms.append(Atom(regex: regex, low: low, high: high))
        }
        self.atoms = atoms
        usesWordBoundaries = parser.usesWordBoundaries
    }

    /// Whether the pattern matches somewhere in `text`, and the VM steps it took.
    func search(_ text: String) -> (matched: Bool, steps: Int) {
        // Characters as codes: below 128 an ASCII character, otherwise 128 + its index in `others`.
        var codes: [Int32] = []
        var others: [[UInt32]] = []
        var otherIndex: [[UInt32]: Int32] = [:]
        var plainASCII = true
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte >= 128 || (previous == 13 && byte == 10) { plainASCII = false; break }
            previous = byte
        }
        if plainASCII {
            codes = text.utf8.map { Int32($0) }
        } else {
            codes.reserveCapacity(text.utf8.count)
            for character in text {
                let scalars = character.unicodeScalars
                if scalars.count == 1, let scalar = scalars.first, scalar.value < 128 {
                    codes.append(Int32(scalar.value))
                    continue
                }
                // Keyed by scalars, not by `Character` equality (canonical equivalence): Swift's
                // `Regex` does not always treat canonically equivalent characters alike.
                let key = scalars.map(\.value)
                if let index = otherIndex[key] {
                    codes.append(128 + index)
                } else {
                    let index = Int32(others.count)
                    others.append(key)
                    otherIndex[key] = index
                    codes.append(128 + index)
                }
            }
        }
        let boundaries = usesWordBoundaries ? LinearRegex.wordBoundaries(of: text, count: codes.count) : []
        // Per atom and non-ASCII character: 0 unknown, 1 no, 2 yes.
        var memo = [UInt8](repeating: 0, count: others.isEmpty ? 0 : others.count * atoms.count)
        let atoms = self.atoms
        return program.withUnsafeBufferPointer { program in
            run(program, codes: codes, boundaries: boundaries) { atom, code in
                if code < 128 { return atoms[atom].matches(ascii: Int(code)) }
                let slot = atom * others.count + Int(code - 128)
                if memo[slot] == 0 {
                    let character = String(String.UnicodeScalarView(others[Int(code - 128)].map { Unicode.Scalar($0)! }))
                    memo[slot] = atoms[atom].matches(character) ? 2 : 1
                }
                return memo[slot] == 2
            }
        }
    }

    /// The Pike VM: `threads` holds the atom instructions waiting for the character at `position`;
    /// each instruction is added at most once per position (`mark`), so a position costs at most
    /// the program's length.
    private func run(
        _ program: UnsafeBufferPointer<Instruction>, codes: [Int32], boundaries: [Bool], matches: (Int, Int32) -> Bool
    ) -> (matched: Bool, steps: Int) {
        let count = codes.count
        var mark = [Int](repeating: -1, count: program.count)
        var threads: [Int32] = [], next: [Int32] = []
        threads.reserveCapacity(program.count)
        next.reserveCapacity(program.count)
        var stack: [Int32] = []
        var steps = 0

        /// Adds `start` and everything reachable from it without consuming a character at
        /// `position` to `list`; true when that reaches `match`. Iterative: a long chain of
        /// optional atoms (`a{0,4000}`) must not use the stack.
        func add(_ start: Int32, at position: Int, to list: inout [Int32]) -> Bool {
            stack.append(start)
            while let pc = stack.popLast() {
                guard mark[Int(pc)] != position else { continue }
                mark[Int(pc)] = position
                steps += 1
                let instruction = program[Int(pc)]
                switch instruction.op {
                case .atom: list.append(pc)
                case .split: stack.append(instruction.b); stack.append(instruction.a)
                case .jump: stack.append(instruction.a)
                case .textStart: if position == 0 { stack.append(pc + 1) }
                case .textEnd: if position == count { stack.append(pc + 1) }
                case .wordBoundary: if boundaries[position] { stack.append(pc + 1) }
                case .notWordBoundary: if !boundaries[position] { stack.append(pc + 1) }
                case .match:
                    stack.removeAll(keepingCapacity: true)
                    return true
                }
            }
            return false
        }

        if add(0, at: 0, to: &threads) { return (true, steps) }
        for position in 0..<count {
            let code = codes[position]
            for pc in threads {
                steps += 1
                if matches(Int(program[Int(pc)].a), code), add(pc + 1, at: position + 1, to: &next) { return (true, steps) }
            }
            // A search: a match may also start at the next character.
            if add(0, at: position + 1, to: &next) { return (true, steps) }
            swap(&threads, &next)
            next.removeAll(keepingCapacity: true)
        }
        return (false, steps)
    }

    /// Whether each position 0…count of `text` (in characters) is a word boundary, as Swift's
    /// `Regex` decides `\b` (Unicode default word boundaries).
    private static func wordBoundaries(of text: String, count: Int) -> [Bool] {
        var offsets: [String.Index: Int] = [:]
        var offset = 0
        for index in text.indices {
            offsets[index] = offset
            offset += 1
        }
        offsets[text.endIndex] = offset
        var boundaries = [Bool](repeating: false, count: count + 1)
        for match in text.matches(of: wordBoundary) {
            if let at = offsets[match.range.lowerBound], at <= count { boundaries[at] = true }
        }
        return boundaries
    }

    // MARK: Compiling the tree

    private struct Emitter {
        var program: [Instruction] = []

        mutating func append(_ instruction: Instruction) throws(Unsupported) {
            guard program.count < LinearRegex.maxInstructions else {
                throw Unsupported(message: "the pattern expands to more than \(LinearRegex.maxInstructions) steps; use smaller repetition counts")
            }
            program.append(instruction)
        }

        mutating func emit(_ node: PatternParser.Node) throws(Unsupported) {
            switch node {
            case .atom(let index):
                try append(Instruction(op: .atom, a: Int32(index)))
            case .assertion(let op):
                try append(Instruction(op: op))
            case .sequence(let items):
                for item in items { try emit(item) }
            case .alternation(let branches):
                // split(b1, L2); b1; jump end; L2: split(b2, L3); b2; jump end; … ; bn
                var jumps: [Int] = []
                for (index, branch) in branches.enumerated() {
                    if index < branches.count - 1 {
                        let split = program.count
                        try append(Instruction(op: .split, a: Int32(split + 1)))
                        try emit(branch)
                        jumps.append(program.count)
                        try append(Instruction(op: .jump))
                        program[split].b = Int32(program.count)
                    } else {
                        try emit(branch)
                    }
                }
                for jump in jumps { program[jump].a = Int32(program.count) }
            case .repetition(let body, let min, let max):
                for _ in 0..<min { try emit(body) }
                if let max {
                    // x{0,k}: split(x, end); x; split(x, end); x; … all ending at `end`.
                    var splits: [Int] = []
                    for _ in min..<Swift.max(min, max) {
                        splits.append(program.count)
                        try append(Instruction(op: .split, a: Int32(program.count + 1)))
                        try emit(body)
                    }
                    for split in splits { program[split].b = Int32(program.count) }
                } else {
                    // L: split(body, end); body; jump L
                    let loop = program.count
                    try append(Instruction(op: .split, a: Int32(loop + 1)))
                    try emit(body)
                    try append(Instruction(op: .jump, a: Int32(loop)))
                    program[loop].b = Int32(program.count)
                }
            }
        }
    }
}

/// Reads a pattern (as Unicode scalars, as Swift's regex parser does) into a tree of atoms,
/// sequences, alternations, repetitions and anchors; refuses what the linear matcher does not run.
struct PatternParser {
    indirect enum Node {
        case atom(Int)
        case assertion(LinearRegex.Op)
        case sequence([Node])
        case alternation([Node])
        case repetition(Node, min: Int, max: Int?)
    }

    /// One single-character atom: the Swift regex that decides it, and for a plain ASCII literal
    /// (no options) that byte, which decides ASCII characters without asking the regex.
    struct AtomSpec: Hashable {
        var source: String
        var asciiLiteral: UInt8?
    }

    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var caseInsensitive = false
    private var dotMatchesNewlines = false
    private(set) var atoms: [AtomSpec] = []
    private var atomIndex: [AtomSpec: Int] = [:]
    private(set) var usesWordBoundaries = false
    /// The literal character of the previous atom when it was a lone `\r`, to refuse `\r\n` split
    /// over two atoms (Swift reads it as one character, the text's "\r\n").
    private var previousWasCarriageReturn = false

    typealias Unsupported = LinearRegex.Unsupported

    static let supported = "matches supports literals, '.', [classes], \\d \\w \\s \\p{…} and other class escapes, ^ $ \\A \\z \\b \\B, groups, '|', the quantifiers * + ? {m,n} (also lazy), and the options (?i) and (?s)"

    init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

    private var current: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private func peek(_ offset: Int) -> Unicode.Scalar? {
        position + offset < scalars.count ? scalars[position + offset] : nil
    }

    private func unsupported(_ what: String) -> Unsupported {
        Unsupported(message: "\(what) is not supported; \(PatternParser.supported)")
    }

    mutating func parse() throws(Unsupported) -> Node {
        let node = try parseAlternation()
        guard current == nil else { throw unsupported("an unbalanced ')'") }
        return node
    }

    private mutating func parseAlternation() throws(Unsupported) -> Node {
        var branches = [try parseSequence()]
        while current == "|" {
            position += 1
            branches.append(try parseSequence())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseSequence() throws(Unsupported) -> Node {
        var items: [Node] = []
        while let scalar = current, scalar != "|", scalar != ")" {
            if let item = try parseQuantified() { items.append(item) }
        }
        return .sequence(items)
    }

    /// An atom or group and its quantifier; nil for an option setting such as `(?i)`.
    private mutating func parseQuantified() throws(Unsupported) -> Node? {
        guard let (node, quantifiable, multiScalarLiteral) = try parseAtom() else { return nil }
        guard let (min, max) = lexQuantifier() else { return node }
        guard quantifiable else { throw unsupported("a quantifier after an anchor or option") }
        if multiScalarLiteral { throw unsupported("a quantifier after a character made of several scalars") }
        if current == "+" { throw unsupported("a possessive quantifier (such as a*+)") }
        if current == "?" { position += 1 }  // lazy: the same answer for a yes/no search
        previousWasCarriageReturn = false
        return .repetition(node, min: min, max: max)
    }

    /// `* + ?` or `{n}`, `{n,}`, `{n,m}`, `{,m}` (spaces allowed inside, as Swift's parser allows);
    /// nil, consuming nothing, when there is none (then a `{` is a literal).
    private mutating func lexQuantifier() -> (Int, Int?)? {
        switch current {
        case "*": position += 1; return (0, nil)
        case "+": position += 1; return (1, nil)
        case "?": position += 1; return (0, 1)
        case "{":
            guard let (range, end) = lexRange(from: position + 1) else { return nil }
            position = end
            return range
        default: return nil
        }
    }

    /// Swift's `lexRange` between `{` and `}`: returns the bounds and the index after `}`.
    private func lexRange(from start: Int) -> ((Int, Int?), Int)? {
        var index = start
        func whitespace() {
            while index < scalars.count, scalars[index].properties.isPatternWhitespace { index += 1 }
        }
        func number() -> Int? {
            var value: Int?
            while index < scalars.count, scalars[index].value >= 48, scalars[index].value <= 57 {
                value = (value ?? 0) &* 10 &+ Int(scalars[index].value - 48)
                if value! > 1_000_000 { value = 1_000_000 }
                index += 1
            }
            return value
        }
        whitespace()
        let lower = number()
        whitespace()
        var comma = false
        if index < scalars.count, scalars[index] == "," { comma = true; index += 1 }
        whitespace()
        let upper = number()
        whitespace()
        guard index < scalars.count, scalars[index] == "}" else { return nil }
        switch (lower, comma, upper) {
        case (let l?, false, nil): return ((l, l), index + 1)
        case (let l?, true, nil): return ((l, nil), index + 1)
        case (nil, true, let u?): return ((0, u), index + 1)
        case (let l?, true, let u?): return ((l, u), index + 1)
        default: return nil
        }
    }

    private mutating func atom(_ source: String, asciiLiteral: UInt8? = nil) -> Node {
        let options = (caseInsensitive ? "i" : "") + (dotMatchesNewlines ? "s" : "")
        let spec = AtomSpec(source: options.isEmpty ? source : "(?\(options))" + source,
                            asciiLiteral: options.isEmpty ? asciiLiteral : nil)
        if let index = atomIndex[spec] { return .atom(index) }
        atoms.append(spec)
        atomIndex[spec] = atoms.count - 1
        return .atom(atoms.count - 1)
    }

    /// A literal character as an atom; `\r` then `\n` as two atoms is refused (see `previousWasCarriageReturn`).
    private mutating func literal(_ character: Character) throws(Unsupported) -> Node {
        if character == "\n", previousWasCarriageReturn { throw unsupported("'\\r' followed by '\\n' as separate parts") }
        let scalars = character.unicodeScalars
        var source = String(character)
        var ascii: UInt8?
        if scalars.count == 1, let scalar = scalars.first, scalar.value < 128 {
            ascii = UInt8(scalar.value)
            let isAlphanumeric = (scalar.value >= 48 && scalar.value <= 57) || (scalar.value | 0x20 >= 97 && scalar.value | 0x20 <= 122)
            if scalar.value > 32, scalar.value < 127, !isAlphanumeric { source = "\\" + source }
        }
        let node = atom(source, asciiLiteral: ascii)
        previousWasCarriageReturn = character == "\r"
        return node
    }

    /// The next atom: (node, quantifiable, a literal of several scalars); nil after an option setting.
    private mutating func parseAtom() throws(Unsupported) -> (Node, Bool, Bool)? {
        guard let scalar = current else { throw unsupported("an empty atom") }
        let wasCarriageReturn = previousWasCarriageReturn
        previousWasCarriageReturn = false
        switch scalar {
        case ".":
            position += 1
            return (atom("."), true, false)
        case "^":
            position += 1
            return (.assertion(.textStart), false, false)
        case "$":
            position += 1
            return (.assertion(.textEnd), false, false)
        case "[":
            return (atom(try customClass()), true, false)
        case "(":
            return try group()
        case "*", "+", "?":
            throw unsupported("a quantifier with nothing before it")
        case "{":
            if lexRange(from: position + 1) != nil { throw unsupported("a quantifier with nothing before it") }
            position += 1
            return (try literal("{"), true, false)
        case "\\":
            previousWasCarriageReturn = wasCarriageReturn
            return try escape()
        default:
            // A run of literal scalars is read as characters: "e" + U+0301 is one character "é".
            var end = position
            while end < scalars.count, !"\\^$.|?*+()[{".unicodeScalars.contains(scalars[end]) { end += 1 }
            let run = String(String.UnicodeScalarView(scalars[position..<end]))
            let character = run.first!
            let count = character.unicodeScalars.count
            // After syntax (ASCII), a combining scalar would join it in Swift's reading of the pattern.
            if position > 0, scalars[position - 1].value < 128,
               String(String.UnicodeScalarView([scalars[position - 1], scalars[position]])).count == 1 {
                throw unsupported("a combining character right after pattern syntax")
            }
            position += count
            previousWasCarriageReturn = wasCarriageReturn
            return (try literal(character), true, count > 1)
        }
    }

    /// `\…` outside a class.
    private mutating func escape() throws(Unsupported) -> (Node, Bool, Bool)? {
        guard let next = peek(1) else { throw unsupported("a trailing '\\'") }
        position += 2
        let value = next.value
        let isAlphanumeric = (value >= 48 && value <= 57) || (value | 0x20 >= 97 && value | 0x20 <= 122)
        if value < 128, !isAlphanumeric {
            return (try literal(Character(next)), true, false)
        }
        switch next {
        case "t": return (try literal("\t"), true, false)
        case "n": return (try literal("\n"), true, false)
        case "r": return (try literal("\r"), true, false)
        case "f": return (try literal("\u{0C}"), true, false)
        case "e": return (try literal("\u{1B}"), true, false)
        case "a": return (try literal("\u{07}"), true, false)
        default: break
        }
        previousWasCarriageReturn = false
        switch next {
        case "d", "D", "w", "W", "s", "S", "h", "H", "v", "V", "R", "X":
            return (atom("\\" + String(Character(next))), true, false)
        case "p", "P":
            guard current == "{", let close = scalars[position...].firstIndex(of: "}") else {
                throw unsupported("'\\\(Character(next))' without {…}")
            }
            let property = String(String.UnicodeScalarView(scalars[(position - 2)...close]))
            position = close + 1
            return (atom(property), true, false)
        case "b":
            usesWordBoundaries = true
            return (.assertion(.wordBoundary), false, false)
        case "B":
            usesWordBoundaries = true
            return (.assertion(.notWordBoundary), false, false)
        case "A": return (.assertion(.textStart), false, false)
        case "z": return (.assertion(.textEnd), false, false)
        default:
            throw unsupported("'\\\(Character(next))'")
        }
    }

    /// `[…]`, nested classes and POSIX names included, as one atom's source.
    private mutating func customClass() throws(Unsupported) -> String {
        let start = position
        var depth = 0
        while position < scalars.count {
            let scalar = scalars[position]
            if scalar == "\\" {
                if peek(1) == "Q" { throw unsupported("'\\Q…\\E' in a class") }
                position += 2
                continue
            }
            position += 1
            if scalar == "[" { depth += 1 }
            if scalar == "]" {
                depth -= 1
                if depth == 0 {
                    return String(String.UnicodeScalarView(scalars[start..<position]))
                }
            }
        }
        throw unsupported("an unclosed '['")
    }

    /// `(…)`, `(?:…)`, named groups, `(?i)` / `(?i:…)`; the options return to what they were at
    /// the end of the enclosing group.
    private mutating func group() throws(Unsupported) -> (Node, Bool, Bool)? {
        position += 1
        let saved = (caseInsensitive, dotMatchesNewlines)
        if current == "?" {
            position += 1
            switch current {
            case ":":
                position += 1
            case "<" where peek(1) != "=" && peek(1) != "!", "'":
                try skipGroupName(closing: current == "<" ? ">" : "'")
            case "P" where peek(1) == "<":
                position += 1
                try skipGroupName(closing: ">")
            case "=", "!":
                throw unsupported("lookahead")
            case "<":
                throw unsupported("lookbehind")
            case ">":
                throw unsupported("an atomic group (?>…)")
            case "#":
                throw unsupported("a comment group (?#…)")
            default:
                // Options: (?i) (?-i) (?^i) (?i:…)
                var on = true
                var insensitive = caseInsensitive, dotAll = dotMatchesNewlines
                if current == "^" {
                    insensitive = false
                    dotAll = false
                    position += 1
                }
                while let scalar = current, scalar != ")", scalar != ":" {
                    switch scalar {
                    case "i": insensitive = on
                    case "s": dotAll = on
                    case "-": on = false
                    default: throw unsupported("the option '\(Character(scalar))' in '(?…)'")
                    }
                    position += 1
                }
                guard let end = current else { throw unsupported("an unclosed '(?'") }
                position += 1
                caseInsensitive = insensitive
                dotMatchesNewlines = dotAll
                if end == ")" { return nil }
            }
        } else if current == "*" {
            throw unsupported("a '(*…)' group")
        }
        let inner = try parseAlternation()
        guard current == ")" else { throw unsupported("an unclosed '('") }
        position += 1
        (caseInsensitive, dotMatchesNewlines) = saved
        previousWasCarriageReturn = false
        return (inner, true, false)
    }

    private mutating func skipGroupName(closing: Unicode.Scalar) throws(Unsupported) {
        position += 1
        while let scalar = current, scalar != closing {
            guard scalar.properties.isAlphabetic || scalar.properties.numericType != nil || scalar == "_" else {
                throw unsupported("the group name syntax")
            }
            position += 1
        }
        guard current == closing else { throw unsupported("an unclosed group name") }
        position += 1
    }
}
