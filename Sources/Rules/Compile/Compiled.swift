import FraudCore

/// A constant list: the right-hand side of `in` / `not in`.
enum ListConstant: Sendable {
    case strings(Set<String>)
    case ints(Set<Int64>)
    case decimals([Double])
}

/// One value an expression reads (a field, an aggregate, a `let`, `model_score`), reported with
/// the reasons of a matching rule.
struct Read: Sendable {
    var name: String
    var code: Code
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
