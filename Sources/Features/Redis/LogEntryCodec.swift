import FraudCore
import Redis

/// What one event contributes to one entity's log in Redis, as text, and back.
///
/// Entry: `time␟payment_id␟value…` (␟ = 0x1F), one value per field the entity's features read
/// (their value or distinct field, their filters' fields), in a fixed order per key field: `=text`
/// when the event carries the field, empty when it does not (rule 5). Amounts travel as
/// `=minorUnits CUR`, so `amount_usd` is converted by the reading instance's rates exactly as by the
/// writer's. Text is %-escaped so it never contains the separator. The key value itself is not
/// stored: it is in the Redis key's name. The time comes first, so the log script can read it
/// (trimming) without knowing anything else of the layout.
struct LogEntryCodec: Sendable {
    /// What an entry carries besides time and payment id.
    enum Carried: Hashable, Sendable {
        case amount
        case text(EventField)
    }

    let key: EventField
    let carried: [Carried]

    static let separator: UInt8 = 0x1F

    /// The fields the features of key field `key` in `plan` read.
    init(key: EventField, plan: FeaturePlan) {
        self.key = key
        var carried: [Carried] = []
        func add(_ field: EventField) {
            let item: Carried
            switch field {
            case .amountMinor, .amountUSD, .currency: item = .amount
            case .paymentID: return
            default:
                if field == key { return }
                item = .text(field)
            }
            if !carried.contains(item) { carried.append(item) }
        }
        for feature in plan.features where feature.key == key {
            if let field = feature.field { add(field) }
            for clause in feature.filter?.clauses ?? [] { add(clause.field) }
        }
        self.carried = carried
    }

    /// The entry as text (tests and error messages; the store writes bytes with `encode(_:into:)`).
    func encode(_ event: PaymentEvent) -> String {
        var bytes: [UInt8] = []
        withUnsafePointer(to: event) { encode($0, into: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the entry's bytes; reads only the fields it carries, builds no intermediate strings.
    func encode(_ event: UnsafePointer<PaymentEvent>, into bytes: inout [UInt8]) {
        RESPWriter.appendDecimal(event.pointee.occurredAt.millisecondsSinceEpoch, to: &bytes)
        bytes.append(Self.separator)
        Self.appendEscaped(event.pointee.paymentID, to: &bytes)
        for item in carried {
            bytes.append(Self.separator)
            switch item {
            case .amount:
                bytes.append(UInt8(ascii: "="))
                RESPWriter.appendDecimal(event.pointee.amount.minorUnits, to: &bytes)
                bytes.append(UInt8(ascii: " "))
                bytes.append(contentsOf: event.pointee.amount.currency.code.utf8)
            case .text(let field):
                // Text fields never read the rates (amounts are `.amount`).
                guard let value = field.windowString(of: event, rates: .builtIn) else { continue }
                bytes.append(UInt8(ascii: "="))
                Self.appendEscaped(value, to: &bytes)
            }
        }
    }

    /// The event an entry stands for, as far as the entity's features can tell: `keyValue` in the key
    /// field, the carried fields, and neutral values elsewhere (the mirror applies it to this key
    /// field only). Nil when the entry is malformed.
    func decode(_ entry: [UInt8], keyValue: String) -> PaymentEvent? {
        let parts = entry.split(separator: Self.separator, omittingEmptySubsequences: false)
        guard parts.count == 2 + carried.count,
              let time = Int64(String(decoding: parts[0], as: UTF8.self)) else { return nil }
        var event = PaymentEvent(
            paymentID: Self.unescape(parts[1]), occurredAt: EventTime(millisecondsSinceEpoch: time), accountID: "",
            cardFingerprint: "", deviceID: "", ip: "", merchantID: "", mcc: "", amount: Money(minorUnits: 0, currency: .usd),
            cardCountry: "", ipCountry: "", channel: .ecom, type: .payment
        )
        guard Self.set(key, to: keyValue, on: &event) else { return nil }
        for (item, part) in zip(carried, parts[2...]) {
            guard let marker = part.first else { continue }
            guard marker == UInt8(ascii: "=") else { return nil }
            let value = Self.unescape(part.dropFirst())
            switch item {
            case .amount:
                let pieces = value.split(separator: " ")
                guard pieces.count == 2, let minor = Int64(pieces[0]), let currency = Currency(pieces[1]) else { return nil }
                event.amount = Money(minorUnits: minor, currency: currency)
            case .text(let field):
                guard Self.set(field, to: value, on: &event) else { return nil }
            }
        }
        return event
    }

    private static func set(_ field: EventField, to value: String, on event: inout PaymentEvent) -> Bool {
        switch field {
        case .paymentID: event.paymentID = value
        case .accountID: event.accountID = value
        case .cardFingerprint: event.cardFingerprint = value
        case .deviceID: event.deviceID = value
        case .ip: event.ip = value
        case .merchantID: event.merchantID = value
        case .mcc: event.mcc = value
        case .beneficiaryID: event.beneficiaryID = value
        case .cardCountry: event.cardCountry = value
        case .ipCountry: event.ipCountry = value
        case .channel:
            guard let channel = Channel(rawValue: value) else { return false }
            event.channel = channel
        case .type:
            guard let type = PaymentType(rawValue: value) else { return false }
            event.type = type
        case .metadata(let name): event.metadata[name] = value
        case .currency, .amountMinor, .amountUSD: return false
        }
        return true
    }

    /// Appends `text` with the separator (0x1F) kept out of it; injective.
    static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { utf8 in
            guard utf8.contains(where: { $0 == separator || $0 == UInt8(ascii: "%") }) else {
                bytes.append(contentsOf: utf8)
                return
            }
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "%"): bytes.append(contentsOf: "%25".utf8)
                case separator: bytes.append(contentsOf: "%1F".utf8)
                default: bytes.append(byte)
                }
            }
        }
    }

    static func unescape(_ bytes: some Collection<UInt8>) -> String {
        guard bytes.contains(UInt8(ascii: "%")) else { return String(decoding: bytes, as: UTF8.self) }
        var plain: [UInt8] = []
        var rest = bytes[...]
        while let byte = rest.popFirst() {
            if byte == UInt8(ascii: "%"), rest.starts(with: "25".utf8) {
                plain.append(UInt8(ascii: "%"))
                rest = rest.dropFirst(2)
            } else if byte == UInt8(ascii: "%"), rest.starts(with: "1F".utf8) {
                plain.append(separator)
                rest = rest.dropFirst(2)
            } else {
                plain.append(byte)
            }
        }
        return String(decoding: plain, as: UTF8.self)
    }
}
