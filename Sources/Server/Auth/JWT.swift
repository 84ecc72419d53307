import Foundation

/// Validates HS256 JSON Web Tokens (RFC 7519): the signature in constant time, then `exp` and
/// `nbf`. Any other algorithm, `none` included, is refused.
public struct HS256Verifier: Sendable {
    /// Claims a valid token carried.
    public struct Claims: Sendable, Equatable {
        public var subject: String?
        /// The `scope` claim (RFC 8693 §4.2, OAuth 2's space-separated list); nil without one.
        public var scope: String?
        public var expiresAt: Double?
        public var notBefore: Double?
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        case unsupportedAlgorithm(String)
        case badSignature
        case expired
        case notYetValid

        public var description: String {
            switch self {
            case .malformed(let why): "malformed token: \(why)"
            case .unsupportedAlgorithm(let alg): "unsupported algorithm \"\(alg)\"; only HS256 is accepted"
            case .badSignature: "signature does not match"
            case .expired: "token expired"
            case .notYetValid: "token not valid yet (nbf)"
            }
        }
    }

    private let key: [UInt8]
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    public let leeway: Double

    public init(secret: String, leeway: Double = 30) {
        self.key = Array(secret.utf8)
        self.leeway = leeway
    }

    /// - Parameter now: seconds since the epoch.
    public func verify(_ token: Substring, now: Double) throws(Failure) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected header.payload.signature") }
        guard let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2])
        else { throw .malformed("not base64url") }
        guard let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any] else {
            throw .malformed("header is not a JSON object")
        }
        let algorithm = header["alg"] as? String ?? "(none)"
        guard algorithm == "HS256" else { throw .unsupportedAlgorithm(algorithm) }
        // RFC 7515 §4.1.11: a token whose `crit` names extensions the recipient does not
        // implement (this verifier implements none) must be refused, not read without them.
        guard header["crit"] == nil else { throw .malformed("the header's crit parameter names extensions this server does not implement") }
        let signingInput = parts[0].utf8.count + 1 + parts[1].utf8.count
        let expected = HMACSHA256.authenticate(token.utf8.prefix(signingInput), key: key)
        guard constantTimeEquals(expected, signature) else { throw .badSignature }
        let claims: Claims
        do {
            claims = try JSONDecoder().decode(Claims.self, from: Data(payloadBytes))
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .malformed("payload is not a JSON object")
        }
        guard let expiresAt = claims.expiresAt else { throw .malformed("no exp claim; tokens must expire") }
        guard now < expiresAt + leeway else { throw .expired }
        if let notBefore = claims.notBefore, now + leeway < notBefore { throw .notYetValid }
        return claims
    }

    /// Signs claims; for tests and the operations runbook's token helper.
    public func sign(payloadJSON: String) -> String {
        let header = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = Base64URL.encode(Array(payloadJSON.utf8))
        let signature = HMACSHA256.authenticate(Array("\(header).\(payload)".utf8), key: key)
        return "\(header).\(payload).\(Base64URL.encode(signature))"
    }
}

extension HS256Verifier.Claims: Decodable {
    private enum Key: String, CodingKey {
        case sub, scope, exp, nbf
    }

    /// A claim that is present must have its type: a `nbf` that is not a number is not "no
    /// `nbf`" (the token would be used before its time), nor a `scope` that is not a string "no
    /// `scope`" (which grants `score`). Booleans are not numbers (`"exp": true` is not 1970).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        func claim<Value: Decodable>(_ key: Key, _ type: Value.Type, _ expected: String) throws(HS256Verifier.Failure) -> Value? {
            guard container.contains(key) else { return nil }
            do {
                return try container.decode(Value.self, forKey: key)
            } catch {
                throw .malformed("the \(key.rawValue) claim must be \(expected)")
            }
        }
        let numericDate = "a number of seconds since the epoch (RFC 7519 NumericDate)"
        self.init(
            subject: try claim(.sub, String.self, "a string"),
            scope: try claim(.scope, String.self, "a string of space-separated scopes"),
            expiresAt: try claim(.exp, Double.self, numericDate),
            notBefore: try claim(.nbf, Double.self, numericDate)
        )
    }
}

/// Base64 with the URL alphabet and no padding (RFC 4648 §5), as JWTs use it.
enum Base64URL {
    static func decode(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") else { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map(Array.init)
    }

    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
