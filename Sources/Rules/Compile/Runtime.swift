import FraudCore

/// Kleene three-valued truth: a comparison that reads a missing value is `unknown`, `not unknown`
/// stays `unknown`, and only `yes` makes a rule match.
public enum Truth: UInt8, Sendable, Hashable {
    case no, yes, unknown

    init(_ bool: Bool) { self = bool ? .yes : .no }

    var negated: Truth {
        switch self {
        case .no: .yes
        case .yes: .no
        case .unknown: .unknown
        }
    }
}

/// The static types of the rules language.
public enum ValueType: Hashable, Sendable, CustomStringConvertible {
    case bool, int, decimal, string, money, duration
    /// An ISO 3166 alpha-2 code (`card_country`, `ip_country`): a string whose literals are checked.
    case country
    indirect case list(ValueType)

    public var description: String {
        switch self {
        case .bool: "bool"
        case .int: "int"
        case .decimal: "decimal"
        case .string: "string"
        case .money: "money"
        case .duration: "duration"
        case .country: "country"
        case .list(let element): "list<\(element)>"
        }
    }

    var isNumber: Bool { self == .int || self == .decimal }
    var isText: Bool { self == .string || self == .country }
}

/// A value at run time; used for constants, `let` caches and the values reported in reasons.
enum RuntimeValue: Sendable, Hashable {
    case missing
    case bool(Bool)
    case int(Int64)
    case decimal(Double)
    case string(String)
    case money(Money)
    /// Milliseconds.
    case duration(Int64)

    var reported: Value {
        switch self {
        case .missing: .missing
        case .bool(let b): .bool(b)
        case .int(let i): .int(i)
        case .decimal(let d): .double(d)
        case .string(let s): .string(s)
        case .money(let m): .money(m)
        case .duration(let ms): .string(EventDuration(milliseconds: ms).description)
        }
    }

    /// How a value reads inside a reason message: strings unquoted, decimals without noise.
    var text: String {
        switch self {
        case .missing: "missing"
        case .string(let s): s
        case .decimal(let d): RuntimeValue.format(d)
        default: reported.description
        }
    }

    static func format(_ d: Double) -> String {
        if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        let rounded = (d * 100).rounded() / 100
        return abs(rounded) >= 0.01 ? String(rounded) : String(d)
    }
}

/// Everything a compiled expression reads for one event. One frame serves a whole batch: the
/// evaluator points it at each event and feature row in turn, so evaluation allocates nothing.
///
/// State lives behind pointers the frame owns, so the closures read one field of the event (not a
/// copy of the whole event) and pay no dynamic exclusivity checks on the hot path. A frame is
/// used by one thread at a time.
final class Frame {
    private struct Scalars {
        /// The event being evaluated: the caller's (a batch array's element) or `owned`.
        var event: UnsafePointer<PaymentEvent>
        var row: UnsafePointer<Double>
        var modelScore: Double
        var riskPoints: Int64
        var stamp: UInt64
        var amountUSD: Double?
        /// The conversion of the last currency seen (events of a batch mostly share a few), so
        /// `amountUSD` costs no dictionary lookup: computed exactly as `ExchangeRates.usd`.
        var lastCurrency: Currency?
        var lastDivisor: Double
        var lastRate: Double?
    }

    private let owned: UnsafeMutablePointer<PaymentEvent>
    private let scalars: UnsafeMutablePointer<Scalars>
    let rates: ExchangeRates
    /// Per `let` slot: the stamp of the event its value belongs to, and the value.
    let letStamps: UnsafeMutablePointer<UInt64>
    let letValues: UnsafeMutablePointer<RuntimeValue>
    private let letCount: Int

    /// A frame on a copy of `event`.
    init(event: PaymentEvent, row: UnsafePointer<Double>, lets: Int, rates: ExchangeRates = .builtIn) {
        owned = .allocate(capacity: 1)
        owned.initialize(to: event)
        scalars = .allocate(capacity: 1)
        scalars.initialize(to: Scalars(event: UnsafePointer(owned), row: row, modelScore: .nan, riskPoints: 0, stamp: 1,
                                       amountUSD: rates.usd(event.amount), lastCurrency: nil, lastDivisor: 1, lastRate: nil))
        self.rates = rates
        letCount = Swift.max(lets, 1)
        letStamps = .allocate(capacity: letCount)
        letStamps.initialize(repeating: 0, count: letCount)
        letValues = .allocate(capacity: letCount)
        letValues.initialize(repeating: .missing, count: letCount)
    }

    deinit {
        owned.deinitialize(count: 1)
        owned.deallocate()
        scalars.deinitialize(count: 1)
        scalars.deallocate()
        letStamps.deallocate()
        letValues.deinitialize(count: letCount)
        letValues.deallocate()
    }

    /// Points the frame at the next event without copying it (`event` must stay valid while the
    /// frame is evaluated): a new stamp invalidates the `let` slots.
    func load(_ event: UnsafePointer<PaymentEvent>, row: UnsafePointer<Double>, modelScore: Double) {
        scalars.pointee.event = event
        scalars.pointee.row = row
        scalars.pointee.modelScore = modelScore
        scalars.pointee.riskPoints = 0
        scalars.pointee.stamp &+= 1
        let amount = event.pointee.amount
        if amount.currency != scalars.pointee.lastCurrency {
            scalars.pointee.lastCurrency = amount.currency
            scalars.pointee.lastDivisor = Compiler.pow10(amount.currency.minorUnitExponent)
            scalars.pointee.lastRate = rates.usdPerMajorUnit[amount.currency]
        }
        scalars.pointee.amountUSD = scalars.pointee.lastRate.map { Double(amount.minorUnits) / scalars.pointee.lastDivisor * $0 }
    }

    /// Copies `event` into the frame and points at it.
    func load(copying event: PaymentEvent, row: UnsafePointer<Double>, modelScore: Double) {
        owned.pointee = event
        load(UnsafePointer(owned), row: row, modelScore: modelScore)
    }

    var event: PaymentEvent { unsafeAddress { scalars.pointee.event } }
    var row: UnsafePointer<Double> { scalars.pointee.row }
    var modelScore: Double {
        get { scalars.pointee.modelScore }
        set { scalars.pointee.modelScore = newValue }
    }
    var riskPoints: Int64 {
        get { scalars.pointee.riskPoints }
        set { scalars.pointee.riskPoints = newValue }
    }
    var stamp: UInt64 { scalars.pointee.stamp }
    /// The event's amount in US dollars, converted once per event.
    var amountUSD: Double? { scalars.pointee.amountUSD }

    nonisolated(unsafe) static let emptyRow: UnsafePointer<Double> = {
        let pointer = UnsafeMutablePointer<Double>.allocate(capacity: 1)
        pointer.initialize(to: .nan)
        return UnsafePointer(pointer)
    }()

    /// A frame for folding constants: any read of the event would be a compiler bug.
    static func placeholder(lets: Int = 0) -> Frame {
        Frame(event: PaymentEvent.placeholder, row: emptyRow, lets: lets)
    }
}

extension PaymentEvent {
    /// A blank event: the base of partial test events and of constant folding.
    public static let placeholder = PaymentEvent(
        paymentID: "", occurredAt: EventTime(millisecondsSinceEpoch: 0), accountID: "", cardFingerprint: "",
        deviceID: "", ip: "", merchantID: "", mcc: "0000", amount: Money(minorUnits: 0, currency: .usd),
        cardCountry: "", ipCountry: "", channel: .ecom, type: .payment
    )
}

/// Compiled code of one expression: a closure of the expression's type. Missing is `nil`
/// (or `.unknown` for booleans); nothing is interpreted from text at run time.
enum Code: @unchecked Sendable {
    case bool((Frame) -> Truth)
    case int((Frame) -> Int64?)
    case decimal((Frame) -> Double?)
    case string((Frame) -> String?)
    case money((Frame) -> Money?)
    case duration((Frame) -> Int64?)

    func value(_ frame: Frame) -> RuntimeValue {
        switch self {
        case .bool(let f):
            switch f(frame) {
            case .yes: return .bool(true)
            case .no: return .bool(false)
            case .unknown: return .missing
            }
        case .int(let f): return f(frame).map { .int($0) } ?? .missing
        case .decimal(let f): return f(frame).map { .decimal($0) } ?? .missing
        case .string(let f): return f(frame).map { .string($0) } ?? .missing
        case .money(let f): return f(frame).map { .money($0) } ?? .missing
        case .duration(let f): return f(frame).map { .duration($0) } ?? .missing
        }
    }

    /// A closure that always yields `value` (constant folding).
    static func constant(_ value: RuntimeValue, as type: ValueType) -> Code {
        switch (type, value) {
        case (.bool, .bool(let b)): let t = Truth(b); return .bool { _ in t }
        case (.bool, _): return .bool { _ in .unknown }
        case (.int, .int(let i)): return .int { _ in i }
        case (.int, _): return .int { _ in nil }
        case (.decimal, .decimal(let d)): return .decimal { _ in d }
        case (.decimal, _): return .decimal { _ in nil }
        case (.money, .money(let m)): return .money { _ in m }
        case (.money, _): return .money { _ in nil }
        case (.duration, .duration(let ms)): return .duration { _ in ms }
        case (.duration, _): return .duration { _ in nil }
        case (_, .string(let s)): return .string { _ in s }
        default: return .string { _ in nil }
        }
    }

    /// The expression as a number: booleans are 1/0, money is US dollars, durations are seconds;
    /// NaN is missing. This is how the model reads its features.
    func numeric(rates: ExchangeRates) -> ((Frame) -> Double)? {
        switch self {
        case .bool(let f):
            return { frame in
                switch f(frame) {
                case .yes: 1
                case .no: 0
                case .unknown: .nan
                }
            }
        case .int(let f): return { f($0).map(Double.init) ?? .nan }
        case .decimal(let f): return { f($0) ?? .nan }
        case .money(let f): return { f($0).flatMap(rates.usd) ?? .nan }
        case .duration(let f): return { f($0).map { Double($0) / 1000 } ?? .nan }
        case .string: return nil
        }
    }
}
