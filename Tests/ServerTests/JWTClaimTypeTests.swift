import Hummingbird
import HummingbirdTesting
@testable import Server
import Testing

/// A token with `header`'s fields and `payload`, signed with `secret`.
private func token(header: String = #"{"alg":"HS256","typ":"JWT"}"#, payload: String, secret: String) -> String {
    let encodedHeader = Base64URL.encode(Array(header.utf8))
    let encodedPayload = Base64URL.encode(Array(payload.utf8))
    let signature = HMACSHA256.authenticate(Array("\(encodedHeader).\(encodedPayload)".utf8), key: Array(secret.utf8))
    return "\(encodedHeader).\(encodedPayload).\(Base64URL.encode(signature))"
}

@Suite("HS256 tokens: a claim of the wrong type is refused, not taken as absent")
struct JWTClaimTypeTests {
    static let numericDate = "a number of seconds since the epoch (RFC 7519 NumericDate)"

    // Before, each of these was read as if the claim were missing: the token was used before its
    // nbf, or got the scope `score` a token without a scope claim gets, or an exp of 1970.
    @Test("claims of the wrong type", arguments: [
        (#"{"sub":"a","exp":5000,"nbf":"4000"}"#, "the nbf claim must be \(numericDate)"),
        (#"{"sub":"a","exp":5000,"nbf":true}"#, "the nbf claim must be \(numericDate)"),
        (#"{"sub":"a","exp":5000,"nbf":null}"#, "the nbf claim must be \(numericDate)"),
        (#"{"sub":"a","exp":"5000"}"#, "the exp claim must be \(numericDate)"),
        (#"{"sub":"a","exp":true}"#, "the exp claim must be \(numericDate)"),
        (#"{"sub":"a","exp":5000,"scope":["rules:read"]}"#, "the scope claim must be a string of space-separated scopes"),
        (#"{"sub":"a","exp":5000,"scope":null}"#, "the scope claim must be a string of space-separated scopes"),
        (#"{"sub":7,"exp":5000}"#, "the sub claim must be a string"),
    ])
    func wrongType(payload: String, message: String) {
        let verifier = HS256Verifier(secret: jwtSecret)
        #expect(throws: HS256Verifier.Failure.malformed(message)) {
            try verifier.verify(verifier.sign(payloadJSON: payload)[...], now: 1000)
        }
    }

    @Test("claims of the right type still verify, unknown claims are ignored")
    func rightTypes() throws {
        let verifier = HS256Verifier(secret: jwtSecret)
        let claims = try verifier.verify(verifier.sign(payloadJSON: #"{"sub":"a","exp":5000.5,"nbf":900,"scope":"score","iat":1,"aud":["x"]}"#)[...], now: 1000)
        #expect(claims == .init(subject: "a", scope: "score", expiresAt: 5000.5, notBefore: 900))
    }

    @Test("a header with crit is refused (RFC 7515 §4.1.11: no extension is implemented here)")
    func critical() {
        let signed = token(header: #"{"alg":"HS256","crit":["exp-by-hour"],"exp-by-hour":true}"#, payload: #"{"sub":"a","exp":5000}"#, secret: jwtSecret)
        #expect(throws: HS256Verifier.Failure.malformed("the header's crit parameter names extensions this server does not implement")) {
            try HS256Verifier(secret: jwtSecret).verify(signed[...], now: 1000)
        }
    }

    @Test("over loopback: 401 naming the claim, for a token the server used to accept")
    func overHTTP() async throws {
        try await withServer { client in
            let cases = [
                // Not valid for another 100 years, but nbf was a string and so ignored: was 200.
                (#"{"sub":"early","scope":"rules:read","exp":99999999999,"nbf":"4102444800"}"#, "the nbf claim must be \(Self.numericDate)"),
                // A scope claim of another shape: was read as no scope claim and could dry-run score.
                (#"{"sub":"listy","scope":["payments:read"],"exp":99999999999}"#, "the scope claim must be a string of space-separated scopes"),
            ]
            for (payload, message) in cases {
                let headers: HTTPFields = [.authorization: "Bearer " + HS256Verifier(secret: jwtSecret).sign(payloadJSON: payload)]
                for (uri, body) in [("/v1/rules", nil), ("/v1/score?dry_run=true", eventJSON("jwt-1"))] {
                    try await client.execute(uri: uri, method: body == nil ? .get : .post, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                        #expect(response.status == .unauthorized, "\(uri) \(payload)")
                        #expect(response.headers[.wwwAuthenticate] == "Bearer")
                        #expect(String(buffer: response.body) == #"{"error":{"code":"unauthorized","message":"invalid bearer token: malformed token: \#(message)","status":401}}"#)
                    }
                }
            }
        }
    }
}
