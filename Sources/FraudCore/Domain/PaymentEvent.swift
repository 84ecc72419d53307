/// One payment as it arrives on the `payments` topic (see ARCHITECTURE.md, "Data contracts").
///
/// A value type with no references but its strings: identifiers up to 15 UTF-8 bytes are stored
/// inline by Swift's small-string representation, so the simulator's ids cost no allocation.
public struct PaymentEvent: Hashable, Sendable {
    public var paymentID: String
    public var occurredAt: EventTime
    public var accountID: String
    public var cardFingerprint: String
    public var deviceID: String
    public var ip: String
    public var merchantID: String
    /// ISO 18245 merchant category code, always four digits (`"0742"`, `"5411"`).
    public var mcc: String
    public var amount: Money
    /// ISO 3166-1 alpha-2 country of the card issuer.
    public var cardCountry: String
    /// ISO 3166-1 alpha-2 country the IP address geolocates to.
    public var ipCountry: String
    public var channel: Channel
    public var type: PaymentType
    public var beneficiaryID: String?
    public var metadata: [String: String]
    /// Ground truth, present only in recorded or simulated data; never used for scoring.
    public var label: Label?

    public init(
        paymentID: String, occurredAt: EventTime, accountID: String, cardFingerprint: String,
        deviceID: String, ip: String, merchantID: String, mcc: String, amount: Money,
        cardCountry: String, ipCountry: String, channel: Channel, type: PaymentType,
        beneficiaryID: String? = nil, metadata: [String: String] = [:], label: Label? = nil
    ) {
        self.paymentID = paymentID
        self.occurredAt = occurredAt
        self.accountID = accountID
        self.cardFingerprint = cardFingerprint
        self.deviceID = deviceID
        self.ip = ip
        self.merchantID = merchantID
        self.mcc = mcc
        self.amount = amount
        self.cardCountry = cardCountry
        self.ipCountry = ipCountry
        self.channel = channel
        self.type = type
        self.beneficiaryID = beneficiaryID
        self.metadata = metadata
        self.label = label
    }
}

public enum Channel: String, Hashable, Sendable, CaseIterable {
    case ecom, pos, p2p, wallet
}

public enum PaymentType: String, Hashable, Sendable, CaseIterable {
    case payment, refund, transfer, withdrawal, topup
}

public enum Label: String, Hashable, Sendable, CaseIterable {
    case fraud, legit
}
