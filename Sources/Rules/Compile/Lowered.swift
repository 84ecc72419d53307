import Foundation
import FraudCore

/// A boolean expression in the shape the condition machine runs (`ConditionProgram`), built by the
/// compiler beside the closure of the same node. Shapes the machine has no instruction for keep
/// their closure (`.closure`), so every condition can be lowered; the closures remain the
/// reference semantics (tests compare both on random events).
///
/// Truth follows the closures exactly: a comparison reading a missing value is `unknown`, `not`
/// keeps `unknown`, `and`/`or` are Kleene's.
indirect enum BoolNode: @unchecked Sendable {
    case constant(Truth)
    case and(BoolNode, BoolNode)
    case or(BoolNode, BoolNode)
    case not(BoolNode)
    /// Two numbers compared as doubles; NaN (missing) on either side is `unknown`.
    case compare(CompareOperator, NumberNode, NumberNode)
    /// The event's `amount` against a constant amount: minor units when the currencies agree,
    /// otherwise both in US dollars (`Compiler.order`).
    case amountCompare(CompareOperator, Money)
    /// A string field in a list of strings (`mcc in @risky`, `ip == "1.2.3.4"`); an empty field is missing.
    case textIn(EventField, [String])
    /// Two string fields equal (`card_country == ip_country`); either one empty is `unknown`.
    case textEquals(EventField, EventField)
    /// `type`/`channel` in a set of raw values, compared as enums; never `unknown`.
    case enumIn(EventField, [String])
    case numberMissing(NumberNode)
    case textMissing(EventField)
    /// `is_missing` of a bool: whether it is `unknown`.
    case boolMissing(BoolNode)
    /// A `let` of type bool: computed once per event, in slot `slot`.
    case boolLet(slot: Int, BoolNode)
    case closure((Frame) -> Truth)
}

/// A number (int or decimal) in the machine's shape: a Double, NaN when missing.
indirect enum NumberNode: @unchecked Sendable {
    case constant(Double)
    /// A feature column; `integral` aggregates (counts, seconds) read as the nearest Int64.
    case column(Int, integral: Bool)
    case amountUSD
    case modelScore
    case riskPoints
    /// A `let` of a number: computed once per event, in slot `slot`.
    case numberLet(slot: Int, NumberNode)
    /// Decimal arithmetic; a non-finite result is missing.
    case arithmetic(ArithmeticOperator, NumberNode, NumberNode)
    /// `log1p(x)`, `log(x)`, `exp(x)`, `sqrt(x)`; outside the domain or non-finite is missing.
    case math(MathFunction, NumberNode)
    /// A bool as a number, as a model reads it: 1, 0, or missing when `unknown`.
    case truth(BoolNode)
    case closure((Frame) -> Double?)

    /// Reading it costs less than a `let` cache lookup, so a `let` of it is inlined.
    var isLeaf: Bool {
        switch self {
        case .constant, .column, .amountUSD, .modelScore, .riskPoints: true
        default: false
        }
    }
}

enum CompareOperator: UInt8, Sendable {
    case equal, notEqual, less, lessEqual, greater, greaterEqual

    init?(_ op: BinaryOperator) {
        switch op {
        case .equal: self = .equal
        case .notEqual: self = .notEqual
        case .less: self = .less
        case .lessEqual: self = .lessEqual
        case .greater: self = .greater
        case .greaterEqual: self = .greaterEqual
        default: return nil
        }
    }

    @inline(__always)
    func test<T: Comparable>(_ a: T, _ b: T) -> Bool {
        switch self {
        case .equal: a == b
        case .notEqual: a != b
        case .less: a < b
        case .lessEqual: a <= b
        case .greater: a > b
        case .greaterEqual: a >= b
        }
    }
}

enum ArithmeticOperator: UInt8, Sendable {
    case add, subtract, multiply, divide, remainder

    init?(_ op: BinaryOperator) {
        switch op {
        case .add: self = .add
        case .subtract: self = .subtract
        case .multiply: self = .multiply
        case .divide: self = .divide
        case .remainder: self = .remainder
        default: return nil
        }
    }

    /// The decimal closures' semantics: division or remainder by zero and non-finite results are missing (NaN).
    @inline(__always)
    func apply(_ a: Double, _ b: Double) -> Double {
        let v: Double
        switch self {
        case .add: v = a + b
        case .subtract: v = a - b
        case .multiply: v = a * b
        case .divide: v = b == 0 ? .nan : a / b
        case .remainder: v = b == 0 ? .nan : a.truncatingRemainder(dividingBy: b)
        }
        return v.isFinite ? v : .nan
    }
}

enum MathFunction: UInt8, Sendable {
    case log1p, log, exp, sqrt

    init?(name: String) {
        switch name {
        case "log1p": self = .log1p
        case "log": self = .log
        case "exp": self = .exp
        case "sqrt": self = .sqrt
        default: return nil
        }
    }

    /// The DSL's semantics, shared by the closures and the machine: an argument outside the
    /// function's domain and a non-finite result are missing (NaN); NaN in is NaN out.
    @inline(__always)
    func apply(_ x: Double) -> Double {
        let v: Double
        switch self {
        case .log1p: v = x > -1 ? Foundation.log1p(x) : .nan
        case .log: v = x > 0 ? Foundation.log(x) : .nan
        case .exp: v = Foundation.exp(x)
        case .sqrt: v = x >= 0 ? x.squareRoot() : .nan
        }
        return v.isFinite ? v : .nan
    }
}

extension Compiled {
    /// This bool node for the machine: its lowered form, or its closure.
    var boolNode: BoolNode {
        if let bool { return bool }
        if case .bool(let f)? = code { return .closure(f) }
        return .constant(.unknown)
    }

    /// This number node for the machine: its lowered form, or its closure read as a Double.
    /// Only ints and decimals have one.
    var numberNode: NumberNode? {
        if let number { return number }
        guard let code, let f = Compiler.decimal(code) else { return nil }
        return .closure(f)
    }

    /// The largest integer a Double holds exactly: int constants beyond it stay on the closure
    /// path so int comparisons keep Int64 precision.
    static let exactIntegerLimit: Int64 = 1 << 53

    /// Lowered forms of a constant value.
    mutating func lowerConstant(_ value: RuntimeValue) {
        switch value {
        case .bool(let b): bool = .constant(Truth(b))
        case .missing where type == .bool: bool = .constant(.unknown)
        case .missing where type.isNumber: number = .constant(.nan)
        case .int(let i) where i.magnitude <= Compiled.exactIntegerLimit.magnitude: number = .constant(Double(i))
        case .decimal(let d): number = .constant(d)
        default: break
        }
    }
}
