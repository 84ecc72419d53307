import FraudCore
import Testing

/// `HashSlotIndex` finds exactly the slots a dictionary would, through collisions, removals
/// (backward shifts) and growth.
struct HashSlotIndexTests {
    /// 16 hashes for 300 keys: long probe runs, many equal tags, so every step leans on `matches`.
    static func hash(_ key: Int) -> UInt64 { UInt64(key % 16) &* 0x9E37_79B9_7F4A_7C15 }

    @Test func randomInsertsAndRemovalsMatchADictionary() {
        var index = HashSlotIndex()
        var keys: [Int?] = []  // slot → key
        var oracle: [Int: Int] = [:]  // key → slot
        var state: UInt64 = 42
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<20_000 {
            let key = next(300)
            let lookup = index.find(hash: Self.hash(key)) { keys[$0] == key }
            #expect(lookup.found == oracle[key])
            if let slot = lookup.found {
                if next(2) == 0 {
                    index.remove(at: lookup.position)
                    keys[slot] = nil
                    oracle[key] = nil
                }
            } else {
                keys.append(key)
                index.insert(hash: Self.hash(key), slot: keys.count - 1, at: lookup.position)
                oracle[key] = keys.count - 1
            }
            #expect(index.count == oracle.count)
        }
        let found = (0..<300).map { key in index.find(hash: Self.hash(key)) { keys[$0] == key }.found }
        #expect(found == (0..<300).map { oracle[$0] })
    }
}
