import FraudCore
import Simulation
import Testing
@testable import Features

/// The in-memory store finds keys and counts distinct values by 64-bit hashes and confirms every
/// hash match by comparing the strings: values whose hashes collide must stay apart.
@Suite("Hash collisions in the in-memory store's tables")
struct HashCollisionTests {
    static let layout = CompiledPlan(plan: FeaturePlan([try! FeatureSpec(parsing: "count(card_fingerprint, 1h)")]), lateness: .minutes(5)).groups[0]

    @Test("Keys with one hash are separate windows, and a sweep keeps the survivors findable")
    func keyTable() {
        let table = KeyTable()
        let keys = (0..<40).map { "card-\($0)" }
        // Every key gets the same hash: the worst case for probing, and a collision for each pair.
        for key in keys { table.insert(KeyWindow(key: key, layout: Self.layout), hash: 7) }
        #expect(table.count == 40)
        #expect(keys.allSatisfy { key in table.find(key, hash: 7).map { table[$0].key } == key })
        #expect(table.find("card-40", hash: 7) == nil)
        table.removeAll { Int($0.key.dropFirst(5))! % 2 == 0 }
        #expect(table.count == 20)
        #expect(keys.filter { table.find($0, hash: 7) != nil } == keys.enumerated().filter { $0.offset % 2 == 1 }.map(\.element))
    }

    @Test("Removing keys one at a time across long probe runs: the table holds exactly a Set's keys after every step")
    func keyTableRemoveAgainstSet() {
        let table = KeyTable()
        var held = Set<String>()
        var random = SimulationRandom(seed: 11)
        // 8 hash values for 300 keys: long runs that wrap around the table's end, so removals
        // shift later windows back across the wrap.
        func hash(_ key: String) -> UInt64 { (UInt64(key.dropFirst(1))! % 8) &* 0x2000_0000_0000_0000 &+ 0x1FFF_FFFF_FFFF_FFFF }
        for step in 0..<6_000 {
            let key = "k\(random.next() % 300)"
            if random.next() % 2 == 0 {
                #expect(table.remove(key, hash: hash(key)) == held.contains(key), "step \(step)")
                held.remove(key)
            } else if table.find(key, hash: hash(key)) == nil {
                table.insert(KeyWindow(key: key, layout: Self.layout), hash: hash(key))
                held.insert(key)
            }
            if step % 500 == 0 || step == 5_999 {
                #expect(table.count == held.count)
                #expect(Set(table.values.map(\.key)) == held)
                #expect(held.allSatisfy { key in table.find(key, hash: hash(key)).map { table[$0].key } == key })
                #expect((0..<300).map { "k\($0)" }.filter { !held.contains($0) }.allSatisfy { table.find($0, hash: hash($0)) == nil })
            }
        }
    }

    @Test("Distinct values with one hash count separately, in and out of the window")
    func distinctCounter() {
        var counter = DistinctCounter()
        defer { counter.deallocate() }
        counter.reset(lo: 0)
        for value in ["a", "b", "a", "c", "b", "a"] { counter.add(value, hash: 1) }
        counter.add("d", hash: 2)
        #expect(counter.count == 4)
        #expect(counter.contains("c", hash: 1))
        #expect(!counter.contains("e", hash: 1))
        counter.remove("c", hash: 1)
        counter.remove("a", hash: 1)
        #expect(counter.count == 3)
        // "a" was added three times and removed once: still present; "c" is gone.
        #expect(counter.contains("a", hash: 1) && !counter.contains("c", hash: 1) && counter.contains("d", hash: 2))
        for _ in 0..<2 { counter.remove("a", hash: 1) }
        counter.remove("b", hash: 1)
        #expect(counter.count == 2)
        #expect(counter.contains("b", hash: 1) && counter.contains("d", hash: 2))
    }

    /// 16 hash values for 97 strings: long probe runs, so deletions shift members back.
    static func fewHashes(_ value: String) -> UInt64 { UInt64(Int(value.dropFirst())! % 16) }

    @Test("Many values across probe runs: counts equal a Set's after every step")
    func distinctCounterAgainstSet() {
        var counter = DistinctCounter()
        defer { counter.deallocate() }
        counter.reset(lo: 0)
        var multiset: [String: Int] = [:]
        var random = SimulationRandom(seed: 3)
        for step in 0..<5_000 {
            let value = "v\(random.next() % 97)"
            let hash = Self.fewHashes(value)
            if random.next() % 3 == 0, multiset[value, default: 0] > 0 {
                counter.remove(value, hash: hash)
                multiset[value]! -= 1
                if multiset[value] == 0 { multiset[value] = nil }
            } else {
                counter.add(value, hash: hash)
                multiset[value, default: 0] += 1
            }
            if counter.count != multiset.count {
                Issue.record("step \(step): counter \(counter.count), set \(multiset.count)")
                return
            }
        }
        #expect(multiset.keys.allSatisfy { counter.contains($0, hash: Self.fewHashes($0)) })
    }
}
