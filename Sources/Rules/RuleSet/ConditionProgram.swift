import FraudCore

/// Every rule and threshold condition of a rule set as one compact instruction array, run by
/// `ConditionMachine`.
///
/// Instructions are plain values (no references), so running them touches no reference counts;
/// the few things that are references (strings, sets, fallback closures) sit in side tables
/// indexed by the instructions. The program owns every buffer it allocates and is never mutated
/// after `init`: that is what makes sharing it across threads sound (`@unchecked Sendable`).
/// Per-event state (the `let` cache) lives in scratch the caller of the machine owns.
final class ConditionProgram: @unchecked Sendable {
    /// One boolean step. `a`/`b` index other instructions or side tables, by `code`.
    struct BoolStep {
        enum Code: UInt8 {
            /// `flag` is the Truth.
            case constant
            /// `a` left, `b` right (the left operand follows its parent, so `a` = index + 1).
            case and, or
            /// `a` operand.
            case not
            /// `flag` the operator, `a`/`b` number steps.
            case compare
            /// `flag` the operator, `a` index into `amounts`.
            case amountCompare
            /// `a` text source, `b` index into `lists`.
            case textIn
            /// `a`/`b` text sources.
            case textEquals
            /// `a` a bit mask over `PaymentType.allCases` / `Channel.allCases`.
            case typeIn, channelIn
            /// `a` a number step / text source / bool step.
            case numberMissing, textMissing, boolMissing
            /// `a` the let slot, `b` the body.
            case boolLet
            /// `a` index into `boolClosures`.
            case closure
        }

        var code: Code
        var flag: UInt8 = 0
        var a: Int32 = 0
        var b: Int32 = 0
    }

    /// One numeric step, yielding a Double (NaN = missing).
    struct NumberStep {
        enum Code: UInt8 {
            /// `value`.
            case constant
            /// `a` the column; `flag` 1 when integral.
            case column
            case amountUSD, modelScore, riskPoints
            /// `a` the let slot, `b` the body.
            case numberLet
            /// `flag` the operator, `a`/`b` operands.
            case arithmetic
            /// `flag` the `MathFunction`, `a` the operand.
            case math
            /// `a` a bool step: 1, 0, or NaN when unknown.
            case truth
            /// `a` index into `numberClosures`.
            case closure
        }

        var code: Code
        var flag: UInt8 = 0
        var a: Int32 = 0
        var b: Int32 = 0
        var value: Double = 0
    }

    /// A constant amount of money with its US dollar value (NaN without a rate).
    struct Amount {
        var minorUnits: Int64
        var currency: Currency
        var usd: Double
    }

    /// A string of the event: `field` is a `TextField` raw value; `key` indexes `metadataKeys`.
    struct TextSource {
        var field: TextField
        var key: Int32
    }

    enum TextField: UInt8 {
        case paymentID, accountID, cardFingerprint, deviceID, ip, merchantID, mcc, beneficiaryID
        case cardCountry, ipCountry, channel, type, currency, metadata
    }

    /// A list of strings to look a field up in. When every value is at most 7 UTF-8 bytes (MCCs,
    /// countries, currencies) the values are words in `packedWords` (`packedStart`,
    /// `packedCount`), compared as integers; otherwise `packedCount` is -1 and `set` indexes `stringSets`.
    struct StringList {
        var packedStart: Int32
        var packedCount: Int32
        var set: Int32
    }

    /// A hashed list, referenced from `stringSets` without reference counting (`setOwners` keeps it alive).
    ///
    /// A `HashSlotIndex` over `SeededHash` (seeded per list, so a customer cannot pick device ids
    /// or IPs that collide), each hit confirmed by comparing the strings. Every event looks its
    /// device, IP and account up in the blocked and trusted lists; `Set<String>` hashed each with
    /// SipHash (`perf record` of `waqiti replay` over 300,000 simulated events with the default
    /// rules: the rules' samples 737 with it, 592 with this; bench/results/replay.md, session 14).
    final class StringSet: @unchecked Sendable {
        private let values: [String]
        private let index: HashSlotIndex
        private let hasher: SeededHash

        init(_ values: Set<String>) {
            let hasher = SeededHash(), values = Array(values)
            var index = HashSlotIndex()
            for (slot, value) in values.enumerated() { index.insert(hash: hasher(value), slot: slot, at: nil) }
            self.values = values
            self.index = index
            self.hasher = hasher
        }

        func contains(_ text: String) -> Bool {
            index.find(hash: hasher(text)) { values[$0] == text }.found != nil
        }
    }

    /// A string of at most 7 UTF-8 bytes as one word: the bytes, and the length in the top byte
    /// (so "a" and "a\0" differ); nil for longer strings.
    @inline(__always)
    static func pack(_ text: String) -> UInt64? {
        var text = text
        return text.withUTF8 { bytes -> UInt64? in
            guard bytes.count <= 7 else { return nil }
            var word = UInt64(bytes.count) << 56
            for index in 0..<bytes.count { word |= UInt64(bytes[index]) << (UInt64(index) &* 8) }
            return word
        }
    }

    let bools: FrozenArray<BoolStep>
    let numbers: FrozenArray<NumberStep>
    let amounts: FrozenArray<Amount>
    let sources: FrozenArray<TextSource>
    let metadataKeys: FrozenArray<String>
    let lists: FrozenArray<StringList>
    let packedWords: FrozenArray<UInt64>
    let stringSets: FrozenArray<Unmanaged<StringSet>>
    private let setOwners: [StringSet]
    let boolClosures: FrozenArray<(Frame) -> Truth>
    let numberClosures: FrozenArray<(Frame) -> Double?>
    /// The root step of each rule's condition, in file order, then each threshold's.
    let roots: FrozenArray<Int32>
    /// The root number step of each numeric expression (a model's features), in order.
    let numberRoots: FrozenArray<Int32>
    /// Number of `let` slots the scratch must hold.
    let letCount: Int

    init(conditions: [BoolNode], numbers: [NumberNode] = [], letCount: Int, rates: ExchangeRates) {
        var builder = Builder(rates: rates)
        let roots = conditions.map { builder.emit($0) }
        let numberRoots = numbers.map { builder.emit($0) }
        self.bools = Self.freeze(builder.bools)
        self.numbers = Self.freeze(builder.numbers)
        self.amounts = Self.freeze(builder.amounts)
        self.sources = Self.freeze(builder.sources)
        self.metadataKeys = Self.freeze(builder.metadataKeys)
        self.lists = Self.freeze(builder.lists)
        self.packedWords = Self.freeze(builder.packedWords)
        self.setOwners = builder.stringSets
        self.stringSets = Self.freeze(builder.stringSets.map { Unmanaged.passUnretained($0) })
        self.boolClosures = Self.freeze(builder.boolClosures)
        self.numberClosures = Self.freeze(builder.numberClosures)
        self.roots = Self.freeze(roots)
        self.numberRoots = Self.freeze(numberRoots)
        self.letCount = letCount
    }

    deinit {
        Self.release(bools)
        Self.release(numbers)
        Self.release(amounts)
        Self.release(sources)
        Self.release(metadataKeys)
        Self.release(lists)
        Self.release(packedWords)
        Self.release(stringSets)
        Self.release(boolClosures)
        Self.release(numberClosures)
        Self.release(roots)
        Self.release(numberRoots)
    }

    private static func freeze<T>(_ values: [T]) -> FrozenArray<T> { FrozenArray(values) }

    private static func release<T>(_ array: FrozenArray<T>) { array.free() }

    /// Flattens node trees into the step arrays, depth first (an operand right after its parent).
    private struct Builder {
        let rates: ExchangeRates
        var bools: [BoolStep] = []
        var numbers: [NumberStep] = []
        var amounts: [Amount] = []
        var sources: [TextSource] = []
        var metadataKeys: [String] = []
        var lists: [StringList] = []
        var packedWords: [UInt64] = []
        var stringSets: [StringSet] = []
        var boolClosures: [(Frame) -> Truth] = []
        var numberClosures: [(Frame) -> Double?] = []
        /// Each `let` body is emitted once and shared by every reference to the slot.
        var boolLetBodies: [Int: Int32] = [:]
        var numberLetBodies: [Int: Int32] = [:]

        init(rates: ExchangeRates) { self.rates = rates }

        /// Appends `node` and its operands; returns its index.
        mutating func emit(_ node: BoolNode) -> Int32 {
            let index = Int32(bools.count)
            bools.append(BoolStep(code: .constant))
            var step: BoolStep
            switch node {
            case .constant(let truth):
                step = BoolStep(code: .constant, flag: truth.rawValue)
            case .and(let l, let r), .or(let l, let r):
                let isAnd = if case .and = node { true } else { false }
                let left = emit(l)
                let right = emit(r)
                step = BoolStep(code: isAnd ? .and : .or, a: left, b: right)
            case .not(let operand):
                step = BoolStep(code: .not, a: emit(operand))
            case .compare(let op, let l, let r):
                step = BoolStep(code: .compare, flag: op.rawValue, a: emit(l), b: emit(r))
            case .amountCompare(let op, let money):
                amounts.append(Amount(minorUnits: money.minorUnits, currency: money.currency, usd: rates.usd(money) ?? .nan))
                step = BoolStep(code: .amountCompare, flag: op.rawValue, a: Int32(amounts.count - 1))
            case .textIn(let field, let values):
                let words = values.compactMap(ConditionProgram.pack)
                if words.count == values.count {
                    lists.append(StringList(packedStart: Int32(packedWords.count), packedCount: Int32(words.count), set: -1))
                    packedWords += words
                } else {
                    lists.append(StringList(packedStart: 0, packedCount: -1, set: Int32(stringSets.count)))
                    stringSets.append(StringSet(Set(values)))
                }
                step = BoolStep(code: .textIn, a: source(field), b: Int32(lists.count - 1))
            case .textEquals(let l, let r):
                step = BoolStep(code: .textEquals, a: source(l), b: source(r))
            case .enumIn(let field, let values):
                // Bits by `ConditionMachine.ordinal`, the positions the machine tests.
                var mask: Int32 = 0
                if field == .type {
                    for value in values { if let type = PaymentType(rawValue: value) { mask |= 1 << ConditionMachine.ordinal(type) } }
                    step = BoolStep(code: .typeIn, a: mask)
                } else {
                    for value in values { if let channel = Channel(rawValue: value) { mask |= 1 << ConditionMachine.ordinal(channel) } }
                    step = BoolStep(code: .channelIn, a: mask)
                }
            case .numberMissing(let number):
                step = BoolStep(code: .numberMissing, a: emit(number))
            case .textMissing(let field):
                step = BoolStep(code: .textMissing, a: source(field))
            case .boolMissing(let operand):
                step = BoolStep(code: .boolMissing, a: emit(operand))
            case .boolLet(let slot, let body):
                let bodyIndex: Int32
                if let emitted = boolLetBodies[slot] {
                    bodyIndex = emitted
                } else {
                    bodyIndex = emit(body)
                    boolLetBodies[slot] = bodyIndex
                }
                step = BoolStep(code: .boolLet, a: Int32(slot), b: bodyIndex)
            case .closure(let f):
                boolClosures.append(f)
                step = BoolStep(code: .closure, a: Int32(boolClosures.count - 1))
            }
            bools[Int(index)] = step
            return index
        }

        mutating func emit(_ node: NumberNode) -> Int32 {
            let index = Int32(numbers.count)
            numbers.append(NumberStep(code: .constant))
            var step: NumberStep
            switch node {
            case .constant(let value):
                step = NumberStep(code: .constant, value: value)
            case .column(let column, let integral):
                step = NumberStep(code: .column, flag: integral ? 1 : 0, a: Int32(column))
            case .amountUSD:
                step = NumberStep(code: .amountUSD)
            case .modelScore:
                step = NumberStep(code: .modelScore)
            case .riskPoints:
                step = NumberStep(code: .riskPoints)
            case .numberLet(let slot, let body):
                let bodyIndex: Int32
                if let emitted = numberLetBodies[slot] {
                    bodyIndex = emitted
                } else {
                    bodyIndex = emit(body)
                    numberLetBodies[slot] = bodyIndex
                }
                step = NumberStep(code: .numberLet, a: Int32(slot), b: bodyIndex)
            case .arithmetic(let op, let l, let r):
                step = NumberStep(code: .arithmetic, flag: op.rawValue, a: emit(l), b: emit(r))
            case .math(let function, let operand):
                step = NumberStep(code: .math, flag: function.rawValue, a: emit(operand))
            case .truth(let bool):
                step = NumberStep(code: .truth, a: emit(bool))
            case .closure(let f):
                numberClosures.append(f)
                step = NumberStep(code: .closure, a: Int32(numberClosures.count - 1))
            }
            numbers[Int(index)] = step
            return index
        }

        mutating func source(_ field: EventField) -> Int32 {
            let text: TextField
            var key: Int32 = -1
            switch field {
            case .paymentID: text = .paymentID
            case .accountID: text = .accountID
            case .cardFingerprint: text = .cardFingerprint
            case .deviceID: text = .deviceID
            case .ip: text = .ip
            case .merchantID: text = .merchantID
            case .mcc: text = .mcc
            case .beneficiaryID: text = .beneficiaryID
            case .cardCountry: text = .cardCountry
            case .ipCountry: text = .ipCountry
            case .channel: text = .channel
            case .type: text = .type
            case .currency: text = .currency
            case .metadata(let name):
                text = .metadata
                metadataKeys.append(name)
                key = Int32(metadataKeys.count - 1)
            case .amountMinor, .amountUSD:
                preconditionFailure("\(field) is not a string field")
            }
            sources.append(TextSource(field: text, key: key))
            return Int32(sources.count - 1)
        }

    }
}

/// A fixed array in memory allocated by its owner (`ConditionProgram`), which frees it exactly
/// once in its deinit. Reading an element is a pointer offset: no bounds or uniqueness checks,
/// no reference counting of the storage.
struct FrozenArray<Element> {
    let base: UnsafeMutablePointer<Element>
    let count: Int

    init(_ values: [Element]) {
        count = values.count
        base = .allocate(capacity: Swift.max(count, 1))
        values.withUnsafeBufferPointer { source in
            if let address = source.baseAddress { base.initialize(from: address, count: count) }
        }
    }

    @inline(__always)
    subscript(index: Int32) -> Element { base[Int(index)] }

    func free() {
        base.deinitialize(count: count)
        base.deallocate()
    }
}
