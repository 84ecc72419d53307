// The bench's command line, shared by every suite. A suite declares its options (name, value,
// default, one line of help) in its `BenchSuite`; main.swift parses the arguments against them
// before the suite runs. `--help` (or `-h`) prints the suite's usage and exits 0; an unknown
// option, a missing value or a value that does not parse is an error that names the option and
// what it takes (exit 2). Either way nothing is measured and no results file is written.

import Foundation

/// A suite: the summary and options its `--help` prints, and the body that runs on parsed arguments.
struct BenchSuite: Sendable {
    /// What the suite measures and where it writes; the first line is its entry in `waqiti-bench --help`.
    var summary: String
    var options: [any BenchOptionDeclaration]
    var run: @Sendable (BenchArguments) async throws -> Void
}

/// An option as the parser and the help see it, whatever the type of its value.
protocol BenchOptionDeclaration: Sendable {
    var name: String { get }
    /// The value in the usage (`N`, `PATH`, `http|throughput`); nil for a flag, which takes none.
    var placeholder: String? { get }
    var defaultText: String { get }
    var help: String { get }
    /// What the value must be, for the error when it is not: "a whole number, 0 or more".
    var expected: String { get }
    func accepts(_ value: String) -> Bool
}

/// One option of a suite with a value of type `Value`; read it with `arguments[option]`.
struct BenchOption<Value: Sendable>: BenchOptionDeclaration {
    let name: String
    let placeholder: String?
    let defaultValue: Value
    let defaultText: String
    let help: String
    let expected: String
    /// nil when the text is not a value of this option; for an optional `Value` that is the outer
    /// nil (`return nil` in a closure typed `-> Value??`), never `.some(nil)`.
    let parse: @Sendable (String) -> Value?

    func accepts(_ value: String) -> Bool { parse(value) != nil }
}

extension BenchOption where Value == Int {
    /// A whole number, refused below `minimum`.
    static func integer(_ name: String, _ placeholder: String = "N", default value: Int, minimum: Int = 0, help: String) -> Self {
        Self(name: name, placeholder: placeholder, defaultValue: value, defaultText: String(value), help: help,
             expected: wholeNumber(minimum)) { Int($0).flatMap { $0 >= minimum ? $0 : nil } }
    }

    /// A whole number where a smaller one counts as `floor` (as `--runs 0` has always meant one run).
    static func integer(_ name: String, _ placeholder: String = "N", default value: Int, raisedTo floor: Int, help: String) -> Self {
        Self(name: name, placeholder: placeholder, defaultValue: value, defaultText: String(value),
             help: "\(help); less than \(floor) counts as \(floor)", expected: "a whole number") { Int($0).map { max(floor, $0) } }
    }

    /// `--runs R`, the timed runs of every suite.
    static func runs(default value: Int) -> Self {
        integer("--runs", "R", default: value, raisedTo: 1, help: "timed runs after the warm-up; the tables show their medians")
    }
}

extension BenchOption where Value == Int? {
    /// A whole number, at least `minimum`, or nothing when not given (`unset` in the help).
    static func integer(_ name: String, _ placeholder: String, minimum: Int, unset: String, help: String) -> Self {
        Self(name: name, placeholder: placeholder, defaultValue: nil, defaultText: unset, help: help, expected: wholeNumber(minimum)) { text -> Int?? in
            guard let number = Int(text), number >= minimum else { return nil }
            return number
        }
    }
}

extension BenchOption where Value == [Int] {
    /// Positive whole numbers separated by commas.
    static func positiveIntegers(_ name: String, default value: [Int], help: String) -> Self {
        let text = value.map(String.init).joined(separator: ",")
        return Self(name: name, placeholder: "N,N,…", defaultValue: value, defaultText: text, help: help,
                    expected: "positive whole numbers separated by commas, e.g. \(text)") { text in
            let numbers = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) ?? 0 }
            return numbers.allSatisfy { $0 > 0 } ? numbers : nil
        }
    }
}

extension BenchOption where Value == String {
    /// Any non-empty text: a path, a URL, a command.
    static func text(_ name: String, _ placeholder: String, default value: String, help: String) -> Self {
        Self(name: name, placeholder: placeholder, defaultValue: value, defaultText: value, help: help,
             expected: "a non-empty value") { $0.isEmpty ? nil : $0 }
    }
}

extension BenchOption where Value == String? {
    /// Any non-empty text, or `value` (nil: nothing) when not given; `unset` says what that means in the help.
    static func text(_ name: String, _ placeholder: String, default value: String? = nil, unset: String, help: String) -> Self {
        Self(name: name, placeholder: placeholder, defaultValue: value, defaultText: unset, help: help,
             expected: "a non-empty value") { text -> String?? in
            // Spelled out: in `cond ? nil : text` the nil would be a valid `String?` value, not a refusal.
            if text.isEmpty { return nil }
            return text
        }
    }

    /// One of a fixed set of words, or nil when not given.
    static func word(_ name: String, from words: [String], unset: String, help: String) -> Self {
        Self(name: name, placeholder: words.joined(separator: "|"), defaultValue: nil, defaultText: unset, help: help,
             expected: oneOf(words)) { text -> String?? in
            if !words.contains(text) { return nil }
            return text
        }
    }
}

extension BenchOption where Value == [String] {
    /// One or more of a fixed set of words, separated by commas.
    static func words(_ name: String, from words: [String], default value: [String], help: String) -> Self {
        let example = words.joined(separator: ",")
        return Self(name: name, placeholder: example, defaultValue: value, defaultText: value.joined(separator: ","), help: help,
                    expected: "\(oneOf(words)), or several separated by commas (\(example))") { text in
            let given = text.split(separator: ",").map(String.init)
            return !given.isEmpty && given.allSatisfy(words.contains) ? given : nil
        }
    }
}

extension BenchOption where Value == Bool {
    /// A flag: true when given; it takes no value.
    static func flag(_ name: String, help: String) -> Self {
        Self(name: name, placeholder: nil, defaultValue: false, defaultText: "off", help: help, expected: "no value") { _ in true }
    }
}

private func wholeNumber(_ minimum: Int) -> String {
    minimum == 1 ? "a positive whole number" : "a whole number, \(minimum) or more"
}

private func oneOf(_ words: [String]) -> String {
    words.count == 1 ? words[0] : words.dropLast().joined(separator: ", ") + " or " + words.last!
}

/// `--help` or `-h` was given: main.swift prints `text` and exits 0.
struct BenchHelpRequested: Error {
    var text: String
}

/// The arguments of one run of a suite, checked against its options.
struct BenchArguments: Sendable {
    /// The arguments as given, for the "Command:" line of the results file.
    let given: [String]
    private let values: [String: String]
    private let declared: Set<String>

    /// Throws `BenchHelpRequested` for `--help`/`-h` (wherever it stands), else a `BenchError`
    /// naming the first argument that is not a declared option or lacks a valid value.
    init(_ arguments: [String], suite name: String, _ suite: BenchSuite) throws {
        if arguments.contains(where: { $0 == "--help" || $0 == "-h" }) { throw BenchHelpRequested(text: Self.usage(name, suite)) }
        let see = "`waqiti-bench \(name) --help` lists its options"
        var values: [String: String] = [:]
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            guard let option = suite.options.first(where: { $0.name == argument }) else {
                guard argument.hasPrefix("-") else { throw BenchError("unexpected argument '\(argument)': \(name) takes only options; \(see)") }
                let guess = closestName(to: argument, among: suite.options.map(\.name)).map { " (did you mean \($0)?)" } ?? ""
                throw BenchError("unknown option '\(argument)'\(guess); \(see)")
            }
            guard let placeholder = option.placeholder else {
                values[option.name] = ""
                continue
            }
            guard let value = remaining.first, !value.hasPrefix("--") else {
                throw BenchError("\(option.name) needs a value: \(option.name) \(placeholder), \(option.expected) (default \(option.defaultText))")
            }
            remaining.removeFirst()
            guard option.accepts(value) else { throw BenchError("\(option.name) takes \(option.expected), got '\(value)'") }
            values[option.name] = value
        }
        given = arguments
        self.values = values
        declared = Set(suite.options.map(\.name))
    }

    /// The option's value: the last one given, else its default.
    subscript<Value>(_ option: BenchOption<Value>) -> Value {
        precondition(declared.contains(option.name), "\(option.name) is not among the suite's options")
        guard let text = values[option.name] else { return option.defaultValue }
        guard let value = option.parse(text) else { preconditionFailure("\(option.name) '\(text)' was accepted but does not parse") }
        return value
    }

    /// The suite's `--help`: usage, summary, and every option with its default.
    static func usage(_ name: String, _ suite: BenchSuite) -> String {
        let rows = suite.options.map { option in
            (option.placeholder.map { "\(option.name) \($0)" } ?? option.name, "\(option.help) [default: \(option.defaultText)]")
        } + [("-h, --help", "print this help and exit; nothing runs, nothing is written")]
        let width = rows.map(\.0.count).max()! + 2
        var text = "usage: waqiti-bench \(name) [options]   (measure in release: swift run -c release waqiti-bench \(name) …)\n\n"
        text += suite.summary + "\n\noptions:\n"
        for (left, right) in rows { text += "  " + left.padding(toLength: width, withPad: " ", startingAt: 0) + right + "\n" }
        return text
    }
}

/// The name among `names` closest to a mistyped `word` (at most two edits away), if any.
func closestName(to word: String, among names: [String]) -> String? {
    let scored = names.map { ($0, editDistance(Array(word), Array($0))) }.filter { $0.1 <= 2 }
    return scored.min { $0.1 < $1.1 }?.0
}

private func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
        var current = [i + 1]
        for (j, y) in b.enumerated() {
            current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
        }
        previous = current
    }
    return previous[b.count]
}
