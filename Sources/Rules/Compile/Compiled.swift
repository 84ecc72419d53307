import FraudCore

/// A constant list: the right-hand side of `in` / `not in`.
enum ListConstant: Sendable {
    case strings(Set<String>)
    case ints(Set<Int64>)
    case decimals([Double])
}

/// One value an expression reads (a field, an aggregate, a `let`, `model_score`), reported with
/// the reasons of a matching rule.
///
/// A `let` read carries the reads of its body in `letReads`, shared rather than copied: copying
/// them into every expression that uses the `let` made a chain of n `let`s hold n²/2 reads.
/// `Read.flatten` expands them once, for a rule's reasons.
struct Read: Sendable {
    var name: String
    var code: Code
    /// For a `let`: what its body reads (itself in this shared form); empty otherwise.
    var letReads: [Read] = []

    /// Every read, `let`s expanded after the `let` itself (depth first), each name once, in reading order.
    /// Iterative, so a long chain of `let`s cannot exhaust the stack.
    static func flatten(_ reads: [Read]) -> [Read] {
        var seen: Set<String> = []
        var out: [Read] = []
        var stack: [(reads: [Read], next: Int)] = [(reads, 0)]
        while let top = stack.last {
            guard top.next < top.reads.count else {
                stack.removeLast()
                continue
            }
            stack[stack.count - 1].next += 1
            let read = top.reads[top.next]
            // A `let` seen before was expanded completely then: nothing under it is new.
            guard seen.insert(read.name).inserted else { continue }
            out.append(Read(name: read.name, code: read.code))
            if !read.letReads.isEmpty { stack.append((read.letReads, 0)) }
        }
        return out
    }
}

/// The result of checking and compiling one expression node.
struct Compiled: Sendable {
    var type: ValueType
    /// Nil only for lists, which exist at compile time.
    var code: Code?
    var list: ListConstant?
    /// Set when the node does not depend on the event (it has been folded to this value).
    var constant: RuntimeValue?
    var reads: [Read]
    /// Set when the node is a bare event field, so comparisons can specialise (enum fields compare as enums).
    var field: EventField?
    /// Set when the node is the event's `amount` (money comparisons with a constant specialise).
    var isEventAmount = false
    /// The node lowered for the condition machine (bools and numbers); nil means use `code`.
    var bool: BoolNode?
    var number: NumberNode?

    init(type: ValueType, code: Code, constant: RuntimeValue? = nil, reads: [Read] = []) {
        self.type = type
        self.code = code
        self.constant = constant
        self.reads = reads
    }

    init(list: ListConstant, element: ValueType) {
        self.type = .list(element)
        self.list = list
        self.reads = []
    }

    /// Reads of both operands, each name once, in reading order.
    static func merge(_ parts: [Compiled]) -> [Read] {
        var seen: Set<String> = []
        var out: [Read] = []
        for read in parts.flatMap(\.reads) where seen.insert(read.name).inserted { out.append(read) }
        return out
    }
}
