import FraudCore
import Simulation
import Testing
@testable import Engine

/// The in-batch duplicate finder gives, for every event, the index of the first event with its
/// payment_id, exactly as a dictionary of first indices does.
struct BatchDuplicatesTests {
    static func oracle(_ events: [PaymentEvent], skipping decided: [Bool]) -> [Int] {
        var first: [String: Int] = [:]
        return events.indices.map { index in
            guard !decided[index] else { return index }
            if let seen = first[events[index].paymentID] { return seen }
            first[events[index].paymentID] = index
            return index
        }
    }

    @Test func distinctIDsFindNothing() {
        let events = (0..<2000).map { payment("pay_\($0)") }
        #expect(BatchDuplicates.firstOccurrences(events, skipping: Array(repeating: false, count: events.count)) == nil)
    }

    @Test func everyRepeatPointsAtItsFirstOccurrence() {
        var random = SimulationRandom(seed: 11)
        for size in [1, 2, 17, 500, 2000] {
            // Few distinct ids (many repeats, long probe chains), ids of every length, empty ids,
            // and some events already decided (skipped: neither found nor a first occurrence).
            let ids = ["", "a", "pay_0", "pay_00000000001", String(repeating: "x", count: 40)] + (0..<size / 3).map { "p\($0)" }
            let events = (0..<size).map { _ in payment(random.pick(ids)) }
            let decided = (0..<size).map { _ in random.below(7) == 0 }
            let expected = Self.oracle(events, skipping: decided)
            let found = BatchDuplicates.firstOccurrences(events, skipping: decided) ?? Array(events.indices)
            #expect(found == expected, "batch of \(size)")
            if size >= 17 { #expect(expected != Array(events.indices), "the batch of \(size) has repeats to find") }
        }
    }
}
