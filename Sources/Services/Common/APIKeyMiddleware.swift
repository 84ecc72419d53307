import HTTPTypes
import Hummingbird

/// Requires one of the configured API keys in `X-API-Key` or `Authorization: Bearer <key>`,
/// except on the operational paths. With no keys configured, authentication is off (the local
/// stack on loopback); configure `WAQITI_API_KEYS` anywhere else.
///
/// The engine's Server module carries the platform's full scheme (API keys and HS256 JWT); this
/// middleware is the services' stand-in until they share it, with the same header contract.
public struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]
    let openPaths: Set<String>

    public init(keys: [String], openPaths: Set<String>) {
        self.keys = keys.map { Array($0.utf8) }
        self.openPaths = openPaths
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty, !openPaths.contains(request.uri.path) else { return try await next(request, context) }
        var presented = request.headers[HTTPField.Name("X-API-Key")!]
        if presented == nil, let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") {
            presented = String(authorization.dropFirst("Bearer ".count))
        }
        guard let presented else {
            throw ServiceHTTPError(.unauthorized, code: "unauthenticated", message: "send an API key in X-API-Key or Authorization: Bearer")
        }
        let bytes = Array(presented.utf8)
        // Compare against every key without an early exit, so timing reveals nothing.
        var matched = false
        for key in keys where Self.constantTimeEquals(key, bytes) { matched = true }
        guard matched else {
            throw ServiceHTTPError(.unauthorized, code: "unauthenticated", message: "the API key is not valid")
        }
        return try await next(request, context)
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
