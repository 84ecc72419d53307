import FraudCore

/// Runs a `ConditionProgram` on the event a `Frame` points at.
///
/// A machine is a stack value for one evaluation call (one event or one batch). It reads the
/// program, which is immutable and outlives the call, and keeps its only mutable state, the
/// per-event `let` cache, in scratch owned by the caller (`withScratch`), so any number of
/// threads can run one program at once.
struct ConditionMachine {
    private let program: ConditionProgram
    let frame: Frame
    /// Per `let` slot: 0 when not computed for this event; otherwise 1 (a number, in `letValues`)
    /// or `1 + Truth.rawValue` (a bool).
    private let letState: UnsafeMutablePointer<UInt8>
    private let letValues: UnsafeMutablePointer<Double>

    private init(program: ConditionProgram, frame: Frame, letState: UnsafeMutablePointer<UInt8>, letValues: UnsafeMutablePointer<Double>) {
        self.program = program
        self.frame = frame
        self.letState = letState
        self.letValues = letValues
    }

    /// Runs `body` with a machine whose `let` cache is stack scratch for the duration of the call.
    static func withMachine<R>(_ program: ConditionProgram, frame: Frame, _ body: (inout ConditionMachine) -> R) -> R {
        let slots = Swift.max(program.letCount, 1)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: slots) { state in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: slots) { values in
                state.initialize(repeating: 0)
                values.initialize(repeating: .nan)
                var machine = ConditionMachine(program: program, frame: frame, letState: state.baseAddress!, letValues: values.baseAddress!)
                return withExtendedLifetime(program) { body(&machine) }
            }
        }
    }

    /// Forgets the `let` values of the previous event; call after loading the frame with the next one.
    func nextEvent() {
        letState.update(repeating: 0, count: program.letCount)
    }

    /// The condition of rule (or threshold, after the rules) number `index`.
    @inline(__always)
    func condition(_ index: Int) -> Truth {
        truth(program.roots.base[index])
    }

    /// Numeric expression number `index` of the program (`ConditionProgram.numberRoots`).
    @inline(__always)
    func expression(_ index: Int) -> Double {
        number(program.numberRoots.base[index])
    }

    func truth(_ index: Int32) -> Truth {
        let step = program.bools.base[Int(index)]
        switch step.code {
        case .constant:
            return Truth(rawValue: step.flag) ?? .unknown
        case .and:
            let a = truth(step.a)
            if a == .no { return .no }
            let b = truth(step.b)
            if b == .no { return .no }
            return a == .yes && b == .yes ? .yes : .unknown
        case .or:
            let a = truth(step.a)
            if a == .yes { return .yes }
            let b = truth(step.b)
            if b == .yes { return .yes }
            return a == .no && b == .no ? .no : .unknown
        case .not:
            return truth(step.a).negated
        case .compare:
            let a = number(step.a)
            if a.isNaN { return .unknown }
            let b = number(step.b)
            if b.isNaN { return .unknown }
            return Truth(Self.test(step.flag, a, b))
        case .amountCompare:
            let constant = program.amounts.base[Int(step.a)]
            let amount = frame.event.amount
            if amount.currency == constant.currency {
                return Truth(Self.test(step.flag, amount.minorUnits, constant.minorUnits))
            }
            guard let usd = frame.amountUSD, !constant.usd.isNaN else { return .unknown }
            return Truth(Self.test(step.flag, usd, constant.usd))
        case .textIn:
            guard let text = text(step.a) else { return .unknown }
            let list = program.lists.base[Int(step.b)]
            if list.packedCount >= 0 {
                // All values fit a word: compare words, no string comparison or hashing.
                guard let word = ConditionProgram.pack(text) else { return .no }
                let words = program.packedWords.base + Int(list.packedStart)
                for index in 0..<Int(list.packedCount) where words[index] == word { return .yes }
                return .no
            }
            return Truth(program.stringSets.base[Int(list.set)]._withUnsafeGuaranteedRef { $0.contains(text) })
        case .textEquals:
            guard let a = text(step.a), let b = text(step.b) else { return .unknown }
            return Truth(a == b)
        case .typeIn:
            return Truth(step.a & (1 << Self.ordinal(frame.event.type)) != 0)
        case .channelIn:
            return Truth(step.a & (1 << Self.ordinal(frame.event.channel)) != 0)
        case .numberMissing:
            return Truth(number(step.a).isNaN)
        case .textMissing:
            return Truth(text(step.a) == nil)
        case .boolMissing:
            return Truth(truth(step.a) == .unknown)
        case .boolLet:
            let slot = Int(step.a)
            let state = letState[slot]
            if state != 0 { return Truth(rawValue: state &- 1) ?? .unknown }
            let value = truth(step.b)
            letState[slot] = value.rawValue &+ 1
            return value
        case .closure:
            return program.boolClosures.base[Int(step.a)](frame)
        }
    }

    func number(_ index: Int32) -> Double {
        let step = program.numbers.base[Int(index)]
        switch step.code {
        case .constant:
            return step.value
        case .column:
            let value = frame.row[Int(step.a)]
            guard step.flag != 0 else { return value }
            // Integral aggregates read as Int64(exactly: value.rounded()): out of range is missing.
            // Counts are whole already; only other values pay for the rounding call.
            guard value >= -0x1p63 && value < 0x1p63 else { return .nan }
            if Double(Int64(value)) == value { return value }
            let rounded = value.rounded()
            return rounded >= -0x1p63 && rounded < 0x1p63 ? rounded : .nan
        case .amountUSD:
            return frame.amountUSD ?? .nan
        case .modelScore:
            return frame.modelScore
        case .riskPoints:
            return Double(frame.riskPoints)
        case .numberLet:
            let slot = Int(step.a)
            if letState[slot] != 0 { return letValues[slot] }
            let value = number(step.b)
            letValues[slot] = value
            letState[slot] = 1
            return value
        case .arithmetic:
            let a = number(step.a)
            if a.isNaN { return .nan }
            let b = number(step.b)
            if b.isNaN { return .nan }
            return (ArithmeticOperator(rawValue: step.flag) ?? .add).apply(a, b)
        case .math:
            let a = number(step.a)
            if a.isNaN { return .nan }
            return (MathFunction(rawValue: step.flag) ?? .log1p).apply(a)
        case .truth:
            switch truth(step.a) {
            case .yes: return 1
            case .no: return 0
            case .unknown: return .nan
            }
        case .closure:
            return program.numberClosures.base[Int(step.a)](frame) ?? .nan
        }
    }

    /// A string field of the event; nil when empty (missing), as the closures read it.
    private func text(_ index: Int32) -> String? {
        let source = program.sources.base[Int(index)]
        switch source.field {
        case .paymentID: return frame.event.paymentID.nonEmpty
        case .accountID: return frame.event.accountID.nonEmpty
        case .cardFingerprint: return frame.event.cardFingerprint.nonEmpty
        case .deviceID: return frame.event.deviceID.nonEmpty
        case .ip: return frame.event.ip.nonEmpty
        case .merchantID: return frame.event.merchantID.nonEmpty
        case .mcc: return frame.event.mcc.nonEmpty
        case .beneficiaryID: return frame.event.beneficiaryID?.nonEmpty
        case .cardCountry: return frame.event.cardCountry.nonEmpty
        case .ipCountry: return frame.event.ipCountry.nonEmpty
        case .channel: return frame.event.channel.rawValue
        case .type: return frame.event.type.rawValue
        case .currency: return frame.event.amount.currency.code
        case .metadata: return frame.event.metadata[program.metadataKeys.base[Int(source.key)]]?.nonEmpty
        }
    }

    @inline(__always)
    private static func test<T: Comparable>(_ op: UInt8, _ a: T, _ b: T) -> Bool {
        (CompareOperator(rawValue: op) ?? .equal).test(a, b)
    }

    /// Bit positions of the enum masks (`ConditionProgram.Builder.mask` uses `allCases` order).
    static func ordinal(_ type: PaymentType) -> Int32 {
        switch type {
        case .payment: 0
        case .refund: 1
        case .transfer: 2
        case .withdrawal: 3
        case .topup: 4
        }
    }

    static func ordinal(_ channel: Channel) -> Int32 {
        switch channel {
        case .ecom: 0
        case .pos: 1
        case .p2p: 2
        case .wallet: 3
        }
    }
}
