import FraudCore
import Foundation

/// An analyst's resolution of a payment held for review, published by the payment service on
/// `payment-reviews` (key = payment id) and consumed by the wallet to capture or release.
public struct ReviewOutcome: Sendable, Equatable, Codable {
    public enum Resolution: String, Sendable, Codable, CaseIterable {
        case approve, decline

        public var outcome: Outcome { self == .approve ? .approve : .decline }
    }

    public var paymentID: String
    public var resolution: Resolution
    public var reviewer: String
    public var note: String?
    /// RFC 3339 with milliseconds, UTC.
    public var resolvedAt: String

    public init(paymentID: String, resolution: Resolution, reviewer: String, note: String?, resolvedAt: EventTime) {
        self.paymentID = paymentID
        self.resolution = resolution
        self.reviewer = reviewer
        self.note = note
        self.resolvedAt = RFC3339.format(resolvedAt)
    }

    enum CodingKeys: String, CodingKey {
        case paymentID = "payment_id", resolution, reviewer, note, resolvedAt = "resolved_at"
    }

    public func encoded() -> [UInt8] { Array((try? JSONBody.encoder.encode(self)) ?? Data()) }

    public static func decode(_ bytes: [UInt8]) -> ReviewOutcome? {
        try? JSONDecoder().decode(ReviewOutcome.self, from: Data(bytes))
    }
}
