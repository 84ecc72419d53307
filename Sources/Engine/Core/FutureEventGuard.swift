import FraudCore
import Foundation

/// Refuses live events dated further ahead of this instance's clock than `maxSkew`.
///
/// Windows run on event time, and time only moves forward: a key's newest event is its watermark
/// for lateness, and the store's newest event decides which idle keys start afresh. One event
/// dated 2099, or an hour ahead, would make every later real-time event of its card "too late" to
/// enter the card's windows, or, on the store's clock, reset every window of every key: a velocity
/// rule blinded by a single message. So the live paths (`serve`'s Kafka consumer: a dead letter of
/// kind `futureTime`; HTTP scoring: 400) check each event against the wall clock before it is
/// decided. Replays do not: recorded events are judged by their own times, not today's clock.
public struct FutureEventGuard: Sendable {
    /// The dead-letter kind of a refused event.
    public static let deadLetterKind = "futureTime"

    public let maxSkew: EventDuration
    private let clock: @Sendable () -> EventTime

    public init(maxSkew: EventDuration, clock: @escaping @Sendable () -> EventTime = FutureEventGuard.wallClock) {
        self.maxSkew = maxSkew
        self.clock = clock
    }

    /// The latest `occurred_at` accepted now; read once per batch.
    public func latestAccepted() -> EventTime { clock() + maxSkew }

    /// Why `event` is refused, given `latestAccepted()`; nil when it is accepted.
    public func problem(_ event: PaymentEvent, latestAccepted: EventTime) -> String? {
        guard event.occurredAt > latestAccepted else { return nil }
        let now = latestAccepted - maxSkew
        let ahead = event.occurredAt - now
        return "payment \"\(event.paymentID)\": field \"occurred_at\": \(event.occurredAt) is \(Self.seconds(ahead)) ahead of this instance's clock "
            + "(\(now)); at most \(maxSkew) is accepted (features.max_clock_skew): fix the producer's clock or the event's time"
    }

    /// Whole seconds, rounded up: "0.5 s ahead" would read as within a skew of 0s.
    private static func seconds(_ duration: EventDuration) -> String {
        "\((duration.milliseconds + 999) / 1000) s"
    }

    public static let wallClock: @Sendable () -> EventTime = {
        EventTime(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
