@testable import Engine
import FraudCore
import Simulation
import Testing

/// The in-memory decision cache against a brute-force oracle: a list of (id, decision) in
/// insertion order, the oldest dropped once `capacity` are held.
@Suite("InMemoryDecisionCache against an oracle")
struct DecisionCacheOracleTests {
    struct Oracle {
        let capacity: Int
        var entries: [Decision] = []

        func decision(for id: String) -> Decision? { entries.first { $0.paymentID == id } }

        mutating func remember(_ decisions: [Decision]) -> [Decision] {
            decisions.map { decision in
                if let standing = self.decision(for: decision.paymentID) { return standing }
                entries.append(decision)
                if entries.count > capacity { entries.removeFirst() }
                return decision
            }
        }
    }

    static func decision(_ id: String, _ points: Int) -> Decision {
        let at = EventTime(millisecondsSinceEpoch: 1_764_403_260_000)
        return Decision(paymentID: id, outcome: .approve, modelScore: 0, riskPoints: points, reasons: [], rulesVersion: "r", modelVersion: "m",
                        featuresDegraded: false, eventTime: at, decidedAt: at, latencyMicros: 1)
    }

    /// Ids of 1 to 40 bytes (the hash's 8-byte steps and every tail length) from a small pool, so
    /// payments repeat, within a batch and across batches, before and after their eviction.
    static func id(_ number: Int) -> String {
        String(repeating: "p", count: number % 40) + String(number)
    }

    @Test("lookups, standing decisions and evictions match the oracle", arguments: [
        (capacity: 1, pool: 5, seed: UInt64(1)), (capacity: 7, pool: 20, seed: 2), (capacity: 64, pool: 100, seed: 3),
        (capacity: 300, pool: 1000, seed: 4), (capacity: 2000, pool: 2500, seed: 5),
    ])
    func matchesOracle(capacity: Int, pool: Int, seed: UInt64) async {
        await Self.check(InMemoryDecisionCache(capacity: capacity), capacity: capacity, pool: pool, seed: seed, batches: 300)
    }

    @Test("decisions spread over many small chunks: lookups, standing decisions and evictions match the oracle", arguments: [
        (capacity: 1, chunkSize: 1, seed: UInt64(9)), (capacity: 13, chunkSize: 4, seed: 10), (capacity: 200, chunkSize: 8, seed: 11),
    ])
    func smallChunks(capacity: Int, chunkSize: Int, seed: UInt64) async {
        await Self.check(InMemoryDecisionCache(capacity: capacity, chunkSize: chunkSize), capacity: capacity, pool: capacity * 3, seed: seed, batches: 300)
    }

    @Test("ids whose hashes all collide are still told apart by their ids", arguments: [
        (capacity: 1, pool: 4, seed: UInt64(6)), (capacity: 9, pool: 30, seed: 7), (capacity: 50, pool: 80, seed: 8),
    ])
    func collidingHashes(capacity: Int, pool: Int, seed: UInt64) async {
        await Self.check(InMemoryDecisionCache(capacity: capacity, fixedHash: 0xDEAD_BEEF_0000_0001), capacity: capacity, pool: pool, seed: seed, batches: 100)
    }

    static func check(_ cache: InMemoryDecisionCache, capacity: Int, pool: Int, seed: UInt64, batches: Int) async {
        var oracle = Oracle(capacity: capacity)
        var random = SimulationRandom(seed: seed)  // deterministic: a failure replays
        for batch in 0..<batches {
            let ids = (0..<(1 + random.below(12))).map { _ in id(random.below(pool)) }
            let found = await cache.decisions(for: ids)
            #expect(found == ids.map { oracle.decision(for: $0) }, "batch \(batch): lookups")
            let decisions = ids.map { decision($0, batch) }
            #expect(await cache.remember(decisions) == oracle.remember(decisions), "batch \(batch): standing decisions")
            #expect(cache.count == oracle.entries.count, "batch \(batch): count")
        }
        let all = (0..<pool).map(id)
        #expect(await cache.decisions(for: all) == all.map { oracle.decision(for: $0) })
    }
}
