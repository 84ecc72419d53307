import Testing
import FraudCore

@Suite("SHA-256")
struct SHA256Tests {
    @Test("FIPS 180-4 test vectors", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func vectors(input: String, digest: String) {
        #expect(SHA256.hex(input) == digest)
    }

    @Test("A million 'a' hashed in pieces matches the published digest")
    func longInput() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(hasher.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("contiguous and element-by-element input, in uneven pieces, give the one-shot digest; finalize() is finalizeHex()'s bytes")
    func pieces() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let oneShot = SHA256.hex(bytes)
        #expect(oneShot == "9a76b8af8f16f19d60de2b3999c22f9d10be4395c90ea3bfc5eb6cd6254243af")  // Python's hashlib
        var contiguous = SHA256(), elementwise = SHA256(), mixed = SHA256()
        var start = 0
        for (index, size) in [1, 63, 64, 65, 107].enumerated() {
            let piece = Array(bytes[start ..< start + size])
            contiguous.update(piece)
            elementwise.update(piece.lazy.map { $0 })
            if index.isMultiple(of: 2) { mixed.update(piece) } else { mixed.update(piece.lazy.map { $0 }) }
            start += size
        }
        #expect(start == bytes.count)
        let digest = contiguous.finalize()
        #expect(digest.map { String($0 >> 4, radix: 16) + String($0 & 0xf, radix: 16) }.joined() == oneShot)
        #expect(elementwise.finalizeHex() == oneShot)
        #expect(mixed.finalizeHex() == oneShot)
    }
}
