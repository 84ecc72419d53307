import Testing
@testable import Features

/// Payment-id hashes name events across restarts and engine instances, so their values must never
/// change: these are FNV-1a 64 with the MurmurHash3 finalizer over the UTF-8 bytes, computed
/// independently (Python) and pinned here.
@Suite("StableHash values are pinned")
struct StableHashTests {
    @Test("Known strings hash to their pinned values", arguments: [
        ("", 0xefd0_1f60_ba99_2926 as UInt64),
        ("pay_1", 0xc703_8750_b770_3b2e),
        // Longer than 15 bytes: a heap string, not a small one.
        ("pay_00000000000000000042-retry", 0x0b18_67ad_83c4_5034),
        ("paiement-é-🙂", 0x4739_2dc6_52a4_0d83),
    ])
    func pinned(text: String, expected: UInt64) {
        #expect(StableHash.hash(text) == expected)
    }

    @Test("A string built from a substring hashes like the literal")
    func substring() {
        let source = "xx pay_00000000000000000042-retry yy"
        let middle = String(source.dropFirst(3).dropLast(3))
        #expect(StableHash.hash(middle) == 0x0b18_67ad_83c4_5034)
    }
}
