import FraudCore

/// How far from the payment service's clock a client's `occurred_at` may be
/// (`payment.occurred_at_max_skew` ahead, `payment.occurred_at_max_age` behind).
///
/// The engine counts an event in a key's velocity windows only if it is within its allowed
/// lateness (`features.allowed_lateness`, 5m by default) of the newest event time it has seen
/// for that card or account. An unbounded time let one client blind every window of a card:
/// one payment dated 2099 made each later payment of that card "too late" to be counted, and
/// payments dated an hour apart never shared a 10-minute window. So by default a payment may be
/// at most 30 s ahead (clock skew between client and service) and 4m30s old, and the two add up
/// to the engine's default lateness: a payment dated `maximumSkew` ahead cannot push another
/// accepted payment of its card out of the windows. `maximumSkew` is half the engine's own bound
/// (`features.max_clock_skew`, 1m by default, checked against the engine's clock): a payment
/// accepted here must not be dead-lettered there because the engine's host clock is a few
/// seconds behind this one, or it would stay `pending` with its funds held.
///
/// A longer `maximumAge` is for sending recorded traffic through the live path in its own order
/// (`waqiti traffic --keep-times`, the quick start): the windows then see the recording's
/// spacing. With clients that send times out of order it reopens the blinding above, which is why
/// the service warns at start-up when the bounds exceed the engine's default lateness.
public struct OccurredAtBounds: Sendable, Equatable {
    public var maximumSkew: EventDuration
    public var maximumAge: EventDuration

    public init(maximumSkew: EventDuration, maximumAge: EventDuration) {
        self.maximumSkew = maximumSkew
        self.maximumAge = maximumAge
    }

    public static let `default` = OccurredAtBounds(maximumSkew: .seconds(30), maximumAge: .seconds(270))

    /// The engine's default allowed lateness, which the defaults add up to.
    public static let engineDefaultLateness = EventDuration.minutes(5)
    /// The engine's default `features.max_clock_skew`, which `maximumSkew` must stay under.
    public static let engineDefaultClockSkew = EventDuration.minutes(1)

    /// Why these bounds can hurt the engine's windows or its future-time check, if they can.
    public var warning: String? {
        var problems: [String] = []
        if maximumSkew.milliseconds + maximumAge.milliseconds > Self.engineDefaultLateness.milliseconds {
            problems.append(
                "payment.occurred_at_max_skew + payment.occurred_at_max_age = \(EventDuration(milliseconds: maximumSkew.milliseconds + maximumAge.milliseconds)) exceeds the engine's default allowed lateness (\(Self.engineDefaultLateness)): a client sending times out of order can push a card's later payments out of its velocity windows; keep it only for recorded traffic sent in its own order, or raise features.allowed_lateness to match")
        }
        if maximumSkew.milliseconds >= Self.engineDefaultClockSkew.milliseconds {
            problems.append(
                "payment.occurred_at_max_skew (\(maximumSkew)) is not under the engine's default features.max_clock_skew (\(Self.engineDefaultClockSkew)): a payment accepted here may be dead-lettered there as future-dated and stay pending with its funds held")
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
}
