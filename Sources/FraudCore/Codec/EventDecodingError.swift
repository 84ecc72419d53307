/// Why one payment event could not be decoded: the field, the payment (when its id could be read),
/// and an explanation that says how to fix the producer.
///
/// `description` is the full message, e.g.
/// `payment "p-17": field "amount_minor": expected an integer number of minor units, got 12.5
/// (money is never a float: send 1250 with "currency": "USD")`.
public struct EventDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        /// Not a single well-formed JSON object (or a CSV record that cannot be split).
        case syntax
        case missingField
        case duplicateField
        case wrongType
        /// A value of the right type that is not allowed (unknown channel, bad country code, …).
        case invalidValue
        case emptyValue
        case tooLong
        /// `amount_minor` written with a fraction or exponent.
        case floatAmount
        case amountOverflow
        case negativeAmount
        case unknownCurrency
        case invalidTime
    }

    public var kind: Kind
    /// The event's `payment_id`, when it could be read despite the error.
    public var paymentID: String?
    /// The offending field (`amount_minor`, `metadata.scenario`); nil for syntax errors.
    public var field: String?
    /// What was wrong and how to fix it.
    public var reason: String

    public init(kind: Kind, paymentID: String? = nil, field: String? = nil, reason: String) {
        self.kind = kind
        self.paymentID = paymentID
        self.field = field
        self.reason = reason
    }

    init(_ error: WireError, paymentID: String?) {
        self.init(kind: error.kind, paymentID: paymentID, field: error.field, reason: error.reason)
    }

    public var description: String {
        var text = ""
        if let paymentID { text += "payment \(quotedPreview(paymentID, limit: 64)): " }
        if let field { text += "field \"\(field)\": " }
        return text + reason
    }
}
