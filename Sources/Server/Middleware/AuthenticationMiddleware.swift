import FraudCore
import Hummingbird
import Logging
import Engine

/// Lets a request through only with a valid `X-API-Key` or HS256 `Authorization: Bearer` token,
/// rate-limits it per credential, and makes the credential's subject and scopes the request's
/// `Caller` for the routes to check. Health endpoints stay open for load balancers and
/// orchestrators.
public struct AuthenticationMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Each configured key's SHA-256 digest, compared in constant time (a key is never held or
    /// logged in clear after start), and the caller it stands for, made once here rather than
    /// on every request.
    private let keys: [(digest: [UInt8], caller: Caller)]
    private let verifier: HS256Verifier?
    private let limiter: RateLimiter
    private let now: @Sendable () -> Double

    public init(apiKeys: [APIKey], jwtSecret: String?, limiter: RateLimiter, now: @escaping @Sendable () -> Double = { Double(WallClockSeconds.now()) }) {
        self.keys = apiKeys.map { key in
            (HMACSHA256.digest(key.key.utf8), Caller(subject: key.name, scopes: key.scopes))
        }
        self.verifier = jwtSecret.map { HS256Verifier(secret: $0) }
        self.limiter = limiter
        self.now = now
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path.hasPrefix("/actuator/health") { return try await next(request, context) }
        let (caller, client) = try authenticate(request)
        guard limiter.allow(client) else {
            throw APIError(.tooManyRequests, code: "rate_limited", message: "more than \(Int(limiter.ratePerSecond)) requests per second for this credential; retry after a second", headers: [.retryAfter: "1"])
        }
        return try await Caller.$current.withValue(caller) { try await next(request, context) }
    }

    /// The caller, and the identity used for rate limiting (`key:` or `sub:` and the subject, so a
    /// key and a token that share a name are limited apart).
    private func authenticate(_ request: Request) throws -> (Caller, String) {
        if let key = request.headers.first(where: { $0.name.canonicalName == "x-api-key" })?.value {
            let digest = HMACSHA256.digest(key.utf8)
            // Check every configured key so timing does not tell which one was close.
            var caller: Caller?
            for candidate in keys where constantTimeEquals(candidate.digest, digest) { caller = candidate.caller }
            guard let caller else { throw APIError.unauthorized("unknown API key") }
            return (caller, "key:" + caller.subject)
        }
        if let authorization = request.headers[.authorization] {
            guard authorization.hasPrefix("Bearer ") else { throw APIError.unauthorized("Authorization must be 'Bearer <token>'") }
            guard let verifier else { throw APIError.unauthorized("bearer tokens are not enabled on this engine (no WAQITI_JWT_SECRET)") }
            let claims: HS256Verifier.Claims
            do {
                claims = try verifier.verify(authorization.dropFirst("Bearer ".count), now: now())
            } catch {
                throw APIError.unauthorized("invalid bearer token: \(error)")
            }
            // The subject is who a review is recorded as, so a token must say whose it is.
            guard let subject = claims.subject, !subject.isEmpty else {
                throw APIError.unauthorized("invalid bearer token: no sub claim; tokens must name their subject")
            }
            return (Caller(subject: subject, scopes: Self.scopes(claims.scope)), "sub:" + subject)
        }
        throw APIError.unauthorized("missing credentials: send X-API-Key or Authorization: Bearer <HS256 JWT>")
    }

    /// A token's scopes: the words of its `scope` claim this platform knows (an identity
    /// provider's token may carry others, which grant nothing here), or `APIScope.legacy` for a
    /// token without the claim.
    static func scopes(_ claim: String?) -> Set<APIScope> {
        guard let claim else { return APIScope.legacy }
        return Set(claim.split(separator: " ").compactMap { APIScope(rawValue: String($0)) })
    }
}

/// Seconds since the epoch, for JWT `exp`/`nbf`.
public enum WallClockSeconds {
    @Sendable public static func now() -> Int64 { WallClock.now().millisecondsSinceEpoch / 1000 }
}
