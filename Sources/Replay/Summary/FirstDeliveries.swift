/// The payment ids a replay has seen, to tell a payment's first delivery from its redeliveries:
/// the label metrics, rule hits, outcome counts and the diff count each payment once, at its first
/// decision, however often the input carries it. One per replay (`ReplayOutput`), its answer
/// given to every summary and the diff, so each record's id is looked up once.
///
/// Exact (the ids themselves, not hashes: a collision would drop a payment from the metrics), so
/// memory grows with the distinct payments replayed: about 25 bytes per id of up to 15 bytes
/// (Swift keeps those inline), plus the id's length for longer ones.
public struct FirstDeliveries: Sendable {
    private var seen = Set<String>()

    public init() {}

    /// True the first time `paymentID` is given, false for every later delivery.
    public mutating func isFirst(_ paymentID: String) -> Bool {
        seen.insert(paymentID).inserted
    }
}
