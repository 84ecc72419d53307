import FraudCore
import Foundation

/// The body of `POST /api/v1/payments`: a payment event without its id (the service assigns it).
public struct PaymentRequest: Codable, Sendable, Equatable {
    public var accountID: String
    public var cardFingerprint: String
    public var deviceID: String
    public var ip: String
    public var merchantID: String
    public var mcc: String
    public var amountMinor: Int64
    public var currency: String
    public var cardCountry: String
    public var ipCountry: String
    public var channel: String
    public var type: String
    public var beneficiaryID: String?
    public var metadata: [String: String]?
    /// RFC 3339; when absent the payment happened now (the service's clock). When present it
    /// must lie within the service's `OccurredAtBounds` of its clock.
    public var occurredAt: String?


    /// 0001-01-01T00:00:00.000Z through 9999-12-31T23:59:59.999Z: the times the wire format writes
    /// as they are, checked after the offset is applied (`0000-01-01T00:00:00+01:00` is in year -1).
    static let occurredAtYears: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    public init(_ event: PaymentEvent) {
        accountID = event.accountID
        cardFingerprint = event.cardFingerprint
        deviceID = event.deviceID
        ip = event.ip
        merchantID = event.merchantID
        mcc = event.mcc
        amountMinor = event.amount.minorUnits
        currency = event.amount.currency.code
        cardCountry = event.cardCountry
        ipCountry = event.ipCountry
        channel = event.channel.rawValue
        type = event.type.rawValue
        beneficiaryID = event.beneficiaryID
        metadata = event.metadata.isEmpty ? nil : event.metadata
        occurredAt = RFC3339.format(event.occurredAt)
    }

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id", cardFingerprint = "card_fingerprint", deviceID = "device_id", ip
        case merchantID = "merchant_id", mcc, amountMinor = "amount_minor", currency
        case cardCountry = "card_country", ipCountry = "ip_country", channel, type
        case beneficiaryID = "beneficiary_id", metadata, occurredAt = "occurred_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accountID = try container.decode(String.self, forKey: .accountID)
        cardFingerprint = try container.decode(String.self, forKey: .cardFingerprint)
        deviceID = try container.decode(String.self, forKey: .deviceID)
        ip = try container.decode(String.self, forKey: .ip)
        merchantID = try container.decode(String.self, forKey: .merchantID)
        mcc = try container.decode(String.self, forKey: .mcc)
        // Foundation on Linux reports 12.5 for an Int64 as "not valid JSON"; say what is wrong.
        if let minor = try? container.decode(Int64.self, forKey: .amountMinor) {
            amountMinor = minor
        } else if let fractional = try? container.decode(Double.self, forKey: .amountMinor) {
            throw DecodingError.typeMismatch(Int64.self, .init(
                codingPath: [CodingKeys.amountMinor], debugDescription: "\(fractional) is not a whole number of minor units"))
        } else {
            amountMinor = try container.decode(Int64.self, forKey: .amountMinor)
        }
        currency = try container.decode(String.self, forKey: .currency)
        cardCountry = try container.decode(String.self, forKey: .cardCountry)
        ipCountry = try container.decode(String.self, forKey: .ipCountry)
        channel = try container.decode(String.self, forKey: .channel)
        type = try container.decode(String.self, forKey: .type)
        beneficiaryID = try container.decodeIfPresent(String.self, forKey: .beneficiaryID)
        metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata)
        occurredAt = try container.decodeIfPresent(String.self, forKey: .occurredAt)
    }

    /// The event the service stores and publishes, or the first problem, naming the field.
    public func validated(paymentID: String, now: EventTime, bounds: OccurredAtBounds = .default) throws(PaymentValidationError) -> PaymentEvent {
        func require(_ field: String, _ value: String, maxBytes: Int = 128) throws(PaymentValidationError) {
            guard !value.isEmpty, value.utf8.count <= maxBytes else {
                throw PaymentValidationError(field: field, message: "must be 1 to \(maxBytes) characters")
            }
        }
        try require("account_id", accountID)
        try require("card_fingerprint", cardFingerprint)
        try require("device_id", deviceID)
        try require("merchant_id", merchantID)
        try require("ip", ip, maxBytes: 45)
        guard Self.isIPAddress(ip) else {
            throw PaymentValidationError(field: "ip", message: "'\(ip)' is not an IPv4 or IPv6 address")
        }
        guard mcc.utf8.count == 4, mcc.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw PaymentValidationError(field: "mcc", message: "'\(mcc)' is not a four-digit ISO 18245 merchant category code")
        }
        if let problem = MoneyField.amountProblem(amountMinor) {
            throw PaymentValidationError(field: "amount_minor", message: problem)
        }
        guard let money = Currency(currency) else {
            throw PaymentValidationError(field: "currency", message: "'\(currency)' is not an ISO 4217 code; use three capital letters such as USD")
        }
        for (field, country) in [("card_country", cardCountry), ("ip_country", ipCountry)] {
            guard country.utf8.count == 2, country.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
                throw PaymentValidationError(field: field, message: "'\(country)' is not an ISO 3166-1 alpha-2 country code such as US")
            }
        }
        guard let channel = Channel(rawValue: channel) else {
            throw PaymentValidationError(field: "channel", message: "'\(channel)' is not one of ecom, pos, p2p, wallet")
        }
        guard let type = PaymentType(rawValue: type) else {
            throw PaymentValidationError(field: "type", message: "'\(type)' is not one of payment, refund, transfer, withdrawal, topup")
        }
        if let beneficiaryID { try require("beneficiary_id", beneficiaryID) }
        if let metadata, metadata.count > 32 || metadata.contains(where: { $0.key.utf8.count > 64 || $0.value.utf8.count > 256 }) {
            throw PaymentValidationError(field: "metadata", message: "at most 32 entries, keys up to 64 and values up to 256 bytes")
        }
        let occurred = try occurredAt.map { text throws(PaymentValidationError) in try Self.occurredAt(text, now: now, bounds: bounds) } ?? now
        let event = PaymentEvent(
            paymentID: paymentID, occurredAt: occurred, accountID: accountID, cardFingerprint: cardFingerprint,
            deviceID: deviceID, ip: ip, merchantID: merchantID, mcc: mcc,
            amount: Money(minorUnits: amountMinor, currency: money), cardCountry: cardCountry, ipCountry: ipCountry,
            channel: channel, type: type, beneficiaryID: beneficiaryID, metadata: metadata ?? [:])
        // The engine reads the outbox's bytes with EventDecoder: a payment it would refuse (an
        // empty metadata key, a NUL in any text) would stay `pending` with its funds held for
        // good. So the service refuses it here, with the decoder's own words.
        do {
            _ = try EventDecoder().decode(EventEncoder().encode(event))
        } catch {
            throw PaymentValidationError(field: error.field ?? "body", message: error.reason)
        }
        return event
    }

    /// A client's `occurred_at`, parsed and within `bounds` of `now`.
    static func occurredAt(_ text: String, now: EventTime, bounds: OccurredAtBounds) throws(PaymentValidationError) -> EventTime {
        guard let parsed = RFC3339.parse(text) else {
            throw PaymentValidationError(field: "occurred_at", message: "'\(text)' is not RFC 3339, e.g. 2026-11-29T08:15:30.123Z")
        }
        guard occurredAtYears.contains(parsed.millisecondsSinceEpoch) else {
            throw PaymentValidationError(field: "occurred_at", message: "'\(text)' is outside the years 0001 to 9999 once its offset is applied")
        }
        let omit = "send the time the payment happened, or omit occurred_at to use the service's clock"
        if parsed > now + bounds.maximumSkew {
            throw PaymentValidationError(
                field: "occurred_at", message: "'\(text)' is more than \(bounds.maximumSkew) ahead of the payment service's clock (\(now)) (payment.occurred_at_max_skew); \(omit)",
                isOutsideTimeBounds: true)
        }
        if parsed < now - bounds.maximumAge {
            throw PaymentValidationError(
                field: "occurred_at",
                message: "'\(text)' is more than \(bounds.maximumAge) before the payment service's clock (\(now)), too late for the engine's velocity windows (payment.occurred_at_max_age); \(omit)",
                isOutsideTimeBounds: true)
        }
        return parsed
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// SHA-256 of the request's canonical JSON: the same Idempotency-Key with a different body is
    /// a client bug to refuse, not a duplicate to answer.
    public var fingerprint: String {
        SHA256.hex((try? JSONBody.encoder.encode(self)).map { Array($0) } ?? [])
    }
}

/// A field of a payment request that cannot be accepted.
public struct PaymentValidationError: Error, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    /// `occurred_at` is too far from the service's clock: a retry of a payment stored when it was
    /// not is still answered with that payment (see `PaymentProcessor.submit`).
    var isOutsideTimeBounds = false
    public var description: String { "field '\(field)' \(message)" }

    init(field: String, message: String, isOutsideTimeBounds: Bool = false) {
        self.field = field
        self.message = message
        self.isOutsideTimeBounds = isOutsideTimeBounds
    }
}
