import Engine
import Foundation
import Server
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How one service authenticates to another (payment → wallet, payment → engine) under the
/// platform's scheme: the first configured API key whose scopes cover the calls, or else a
/// short-lived HS256 token for those scopes signed with the shared secret, so a deployment that
/// only uses JWTs needs no extra key.
public struct ServiceCredential: Sendable {
    enum Kind: Sendable {
        case apiKey(String)
        case token(HS256Verifier, subject: String, scope: String)
        case none
    }

    let kind: Kind
    /// Lifetime of a minted token; a fresh one is signed for every request, so it stays short.
    static let tokenLifetimeSeconds: Int64 = 300

    /// - Parameter scopes: what the calls made with it need, e.g. `wallet:hold`.
    /// - Throws: when keys are configured but none covers `scopes` and there is no JWT secret to
    ///   sign a token with: every call would be refused with 403, so the service does not start.
    public init(configuration: ServicesConfiguration, subject: String, scopes: [APIScope]) throws(ConfigurationError) {
        if let key = configuration.apiKeys.first(where: { $0.covers(scopes) }) {
            kind = .apiKey(key.key)
        } else if let secret = configuration.jwtSecret {
            kind = .token(HS256Verifier(secret: secret), subject: subject, scope: scopes.map(\.rawValue).joined(separator: " "))
        } else if configuration.apiKeys.isEmpty {
            kind = .none
        } else {
            let needed = scopes.map(\.rawValue).joined(separator: "+")
            throw ConfigurationError(key: "http.api_keys", message: "\(subject) calls other services with the scopes \(needed), and no entry of WAQITI_API_KEYS has them all; add one such as \(subject):\(needed):<key> (the services it calls need it too), or set WAQITI_JWT_SECRET so it signs its own tokens")
        }
    }

    public static let anonymous = ServiceCredential(kind: .none)

    init(kind: Kind) { self.kind = kind }

    /// Adds the credential's header to an outgoing request.
    public func authorize(_ request: inout URLRequest) {
        switch kind {
        case .apiKey(let key):
            request.setValue(key, forHTTPHeaderField: "X-API-Key")
        case .token(let signer, let subject, let scope):
            let expires = WallClockSeconds.now() + Self.tokenLifetimeSeconds
            let subjectJSON = String(decoding: try! JSONEncoder().encode(subject), as: UTF8.self)
            request.setValue("Bearer " + signer.sign(payloadJSON: #"{"sub":\#(subjectJSON),"scope":"\#(scope)","exp":\#(expires)}"#), forHTTPHeaderField: "Authorization")
        case .none:
            break
        }
    }
}

extension URLSession {
    /// A session for calls between services: no cookies or cache, twice `timeout` between bytes (at least 1 s),
    /// and enough connections for the payment service's concurrent requests. Callers
    /// still bound each request with `data(for:within:)`: the session's own timeouts are not kept
    /// for a request that swift-corelibs-foundation lost.
    static func serviceToService(timeout: Duration) -> URLSession {
        let configuration = URLSessionConfiguration.ephemeral
        let seconds = max(0.001, Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        // Between bytes, twice the deadline and at least a second: `data(for:within:)` answers
        // first. swift-corelibs-foundation fails a request at once (-1001 after 30 ms) when this
        // is under a second, and it has no resource timeout of its own worth relying on.
        configuration.timeoutIntervalForRequest = max(1, 2 * seconds)
        configuration.httpMaximumConnectionsPerHost = 64
        return URLSession(configuration: configuration)
    }

    /// `data(for:)`, throwing `ExchangeTimedOut` once `limit` has passed without the whole answer.
    func data(for request: URLRequest, within limit: Duration) async throws -> (Data, URLResponse) {
        try await withDeadline(limit, timeout: { ExchangeTimedOut(limit: limit) }) { [self] in try await data(for: request) }
    }
}

/// A request to another service was not answered in full within its deadline.
struct ExchangeTimedOut: Error, LocalizedError {
    var limit: Duration
    var errorDescription: String? { "no answer within \(limit)" }
}
