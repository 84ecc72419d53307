import FraudCore
import Hummingbird
import Logging
import Engine

/// Lets a request through only with a valid `X-API-Key` or HS256 `Authorization: Bearer` token,
/// then rate-limits it per credential. Health endpoints stay open for load balancers and
/// orchestrators.
public struct AuthenticationMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Each configured key's SHA-256 digest, compared in constant time (a key is never held or
    /// logged in clear after start), and the rate-limiting identity it stands for, made once here
    /// rather than formatted again on every request.
    private let keys: [(digest: [UInt8], client: String)]
    private let verifier: HS256Verifier?
    private let limiter: RateLimiter
    private let now: @Sendable () -> Double

    public init(apiKeys: [String], jwtSecret: String?, limiter: RateLimiter, now: @escaping @Sendable () -> Double = { Double(WallClockSeconds.now()) }) {
        self.keys = apiKeys.map { key in
            let digest = HMACSHA256.digest(key.utf8)
            return (digest, "key:" + digest.prefix(8).map { String($0, radix: 16) }.joined())
        }
        self.verifier = jwtSecret.map { HS256Verifier(secret: $0) }
        self.limiter = limiter
        self.now = now
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path.hasPrefix("/actuator/health") { return try await next(request, context) }
        let client = try authenticate(request)
        guard limiter.allow(client) else {
            throw APIError(.tooManyRequests, code: "rate_limited", message: "more than \(Int(limiter.ratePerSecond)) requests per second for this credential; retry after a second", headers: [.retryAfter: "1"])
        }
        return try await next(request, context)
    }

    /// The client identity used for rate limiting: a digest prefix of the key, or the token's subject.
    private func authenticate(_ request: Request) throws -> String {
        if let key = request.headers.first(where: { $0.name.canonicalName == "x-api-key" })?.value {
            let digest = HMACSHA256.digest(key.utf8)
            // Check every configured key so timing does not tell which one was close.
            var client: String?
            for candidate in keys where constantTimeEquals(candidate.digest, digest) { client = candidate.client }
            guard let client else { throw APIError.unauthorized("unknown API key") }
            return client
        }
        if let authorization = request.headers[.authorization] {
            guard authorization.hasPrefix("Bearer ") else { throw APIError.unauthorized("Authorization must be 'Bearer <token>'") }
            guard let verifier else { throw APIError.unauthorized("bearer tokens are not enabled on this engine (no WAQITI_JWT_SECRET)") }
            do {
                let claims = try verifier.verify(authorization.dropFirst("Bearer ".count), now: now())
                return "sub:" + (claims.subject ?? "anonymous")
            } catch {
                throw APIError.unauthorized("invalid bearer token: \(error)")
            }
        }
        throw APIError.unauthorized("missing credentials: send X-API-Key or Authorization: Bearer <HS256 JWT>")
    }
}

/// Seconds since the epoch, for JWT `exp`/`nbf`.
public enum WallClockSeconds {
    @Sendable public static func now() -> Int64 { WallClock.now().millisecondsSinceEpoch / 1000 }
}
