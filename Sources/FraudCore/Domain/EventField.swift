/// The fields of a payment event that features, rules and models may read by name.
///
/// This is the single list of names the rules DSL, the feature store and the model file share;
/// a name not in it is an error with a suggestion, never a silently missing value.
public enum EventField: Hashable, Sendable, CustomStringConvertible {
    case paymentID, accountID, cardFingerprint, deviceID, ip, merchantID, mcc
    case beneficiaryID, cardCountry, ipCountry, channel, type, currency
    /// Integer minor units of the event's own currency.
    case amountMinor
    /// The amount converted to US dollars (major units) through the configured rates.
    case amountUSD
    case metadata(String)

    public static let named: [String: EventField] = [
        "payment_id": .paymentID, "account_id": .accountID, "card_fingerprint": .cardFingerprint,
        "device_id": .deviceID, "ip": .ip, "merchant_id": .merchantID, "mcc": .mcc,
        "beneficiary_id": .beneficiaryID, "card_country": .cardCountry, "ip_country": .ipCountry,
        "channel": .channel, "type": .type, "currency": .currency,
        "amount_minor": .amountMinor, "amount_usd": .amountUSD,
    ]

    /// `card_fingerprint`, `metadata.scenario`, …; nil for an unknown name.
    public init?(name: String) {
        if name.hasPrefix("metadata."), name.count > "metadata.".count {
            self = .metadata(String(name.dropFirst("metadata.".count)))
        } else if let field = EventField.named[name] {
            self = field
        } else {
            return nil
        }
    }

    public var name: String {
        switch self {
        case .paymentID: "payment_id"
        case .accountID: "account_id"
        case .cardFingerprint: "card_fingerprint"
        case .deviceID: "device_id"
        case .ip: "ip"
        case .merchantID: "merchant_id"
        case .mcc: "mcc"
        case .beneficiaryID: "beneficiary_id"
        case .cardCountry: "card_country"
        case .ipCountry: "ip_country"
        case .channel: "channel"
        case .type: "type"
        case .currency: "currency"
        case .amountMinor: "amount_minor"
        case .amountUSD: "amount_usd"
        case .metadata(let key): "metadata.\(key)"
        }
    }

    public var description: String { name }

    /// Whether the field is a number (usable in `sum`, `avg`, `min`, `max`) rather than a string.
    public var isNumeric: Bool {
        switch self {
        case .amountMinor, .amountUSD: true
        default: false
        }
    }

    /// The field's string value, or nil when the event does not carry it (optional fields,
    /// absent metadata keys). Numeric fields render in their canonical decimal form.
    public func string(of event: PaymentEvent) -> String? {
        switch self {
        case .paymentID: event.paymentID
        case .accountID: event.accountID
        case .cardFingerprint: event.cardFingerprint
        case .deviceID: event.deviceID
        case .ip: event.ip
        case .merchantID: event.merchantID
        case .mcc: event.mcc
        case .beneficiaryID: event.beneficiaryID
        case .cardCountry: event.cardCountry
        case .ipCountry: event.ipCountry
        case .channel: event.channel.rawValue
        case .type: event.type.rawValue
        case .currency: event.amount.currency.code
        case .amountMinor: String(event.amount.minorUnits)
        case .amountUSD: nil
        // An empty value is absent, as the rules and the feature windows read it.
        case .metadata(let key): event.metadata[key].flatMap { $0.isEmpty ? nil : $0 }
        }
    }
}
