@testable import Server
import Testing

private func hex(_ bytes: [UInt8]) -> String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

@Suite("HMAC-SHA256, HS256 tokens, rate limiting")
struct AuthTests {
    // RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (case 5 tests truncation, which HS256 does not use).
    @Test("RFC 4231 vectors", arguments: [
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (Array(1...25), [UInt8](repeating: 0xcd, count: 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ([UInt8](repeating: 0xaa, count: 131), Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ])
    func rfc4231(key: [UInt8], message: [UInt8], expected: String) {
        #expect(hex(HMACSHA256.authenticate(message, key: key)) == expected)
    }

    @Test("constant-time comparison")
    func constantTime() {
        #expect(constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        #expect(!constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!constantTimeEquals([UInt8](), [0]))
    }

    @Test("a token signed elsewhere verifies (jwt.io's example, which has no exp)")
    func independentSignature() {
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        // The signature check passes; only the missing expiry is refused.
        #expect(throws: HS256Verifier.Failure.malformed("no exp claim; tokens must expire")) {
            try HS256Verifier(secret: "your-256-bit-secret").verify(token[...], now: 1_516_239_022)
        }
        #expect(throws: HS256Verifier.Failure.badSignature) {
            try HS256Verifier(secret: "another-256-bit-secret").verify(token[...], now: 1_516_239_022)
        }
    }

    @Test("exp, nbf, algorithm and tampering", arguments: [
        (#"{"sub":"svc-payments","exp":2000}"#, 1000.0, HS256Verifier.Failure?.none),
        (#"{"sub":"svc-payments","exp":2000}"#, 2031.0, .expired),
        (#"{"sub":"svc-payments","exp":2000}"#, 2029.0, nil),
        (#"{"sub":"svc-payments","exp":5000,"nbf":1500}"#, 1000.0, .notYetValid),
        (#"{"sub":"svc-payments","exp":5000,"nbf":1500}"#, 1480.0, nil),
    ])
    func claims(payload: String, now: Double, failure: HS256Verifier.Failure?) throws {
        let verifier = HS256Verifier(secret: "0123456789abcdef0123456789abcdef")
        let token = verifier.sign(payloadJSON: payload)
        if let failure {
            #expect(throws: failure) { try verifier.verify(token[...], now: now) }
        } else {
            #expect(try verifier.verify(token[...], now: now).subject == "svc-payments")
        }
    }

    @Test("alg none and a tampered payload are refused")
    func refusals() {
        let verifier = HS256Verifier(secret: "0123456789abcdef0123456789abcdef")
        let token = verifier.sign(payloadJSON: #"{"sub":"a","exp":2000}"#)
        let parts = token.split(separator: ".")
        let forgedPayload = Base64URL.encode(Array(#"{"sub":"admin","exp":2000}"#.utf8))
        #expect(throws: HS256Verifier.Failure.badSignature) { try verifier.verify("\(parts[0]).\(forgedPayload).\(parts[2])"[...], now: 1000) }
        let none = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8))
        #expect(throws: HS256Verifier.Failure.unsupportedAlgorithm("none")) { try verifier.verify("\(none).\(parts[1]).\(parts[2])"[...], now: 1000) }
        #expect(throws: HS256Verifier.Failure.malformed("expected header.payload.signature")) { try verifier.verify("abc"[...], now: 1000) }
    }

    @Test("token bucket: burst of one second, then the rate")
    func rateLimiter() {
        let limiter = RateLimiter(ratePerSecond: 2)
        let start = ContinuousClock.now
        #expect(limiter.allow("a", now: start))
        #expect(limiter.allow("a", now: start))
        #expect(!limiter.allow("a", now: start))
        #expect(limiter.allow("b", now: start), "buckets are per client")
        #expect(!limiter.allow("a", now: start + .milliseconds(400)))
        #expect(limiter.allow("a", now: start + .milliseconds(900)))
    }

    @Test("batch framing", arguments: [
        ("[{\"a\":1}, {\"b\":[1,2]} ,{\"c\":\"x,]\"}]", BatchFraming.Split.success([1..<8, 10..<21, 23..<34])),
        ("{\"a\":1}\n\n{\"b\":2}\n", .success([0..<7, 9..<16])),
        ("[{\"a\":1},]", .failure("trailing comma in the batch array")),
        ("[{\"a\":1}", .failure("a batch that starts with '[' must be one JSON array of events")),
        ("[{\"a\":\"1}]", .failure("the batch array ends inside an event")),
    ])
    func framing(body: String, expected: BatchFraming.Split) {
        let bytes = Array(body.utf8)
        #expect(BatchFraming.detect(bytes).split(bytes) == expected)
    }
}
