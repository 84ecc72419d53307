import Engine

/// Who sent the request being handled, and what they may do: set by `AuthenticationMiddleware`
/// for the rest of the request's task, read by the routes (`Caller.require(_:)`), so routes stay
/// generic over the request context.
public struct Caller: Sendable, Equatable {
    /// An API key's name, or a bearer token's `sub`.
    public var subject: String
    public var scopes: Set<APIScope>

    public init(subject: String, scopes: Set<APIScope>) {
        self.subject = subject
        self.scopes = scopes
    }

    @TaskLocal public static var current: Caller?

    /// The caller, if it holds `scope`. Throws 403 naming the missing scope, or 401 when no
    /// authentication ran: a route mounted without the middleware refuses rather than lets
    /// everyone in.
    @discardableResult
    public static func require(_ scope: APIScope) throws(APIError) -> Caller {
        guard let caller = current else {
            throw APIError.unauthorized("this endpoint needs credentials, and none were checked")
        }
        guard caller.scopes.contains(where: { $0.grants(scope) }) else {
            throw APIError(.forbidden, code: "missing_scope",
                           message: "credential '\(caller.subject)' lacks the scope '\(scope.rawValue)' this request needs; ask for a key or token that grants it (docs/api.md, Authentication)",
                           scope: scope.rawValue)
        }
        return caller
    }
}
