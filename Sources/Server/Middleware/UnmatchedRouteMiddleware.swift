import Hummingbird

/// Answers a request no route matched the way every other error is answered (docs/api.md,
/// Errors): 405 `method_not_allowed` with `Allow` when the path is an endpoint under other
/// methods, otherwise 404 `not_found`. Hummingbird's router answers both with a bare 404.
///
/// Added to the router after every route, it wraps only the router's not-found responder;
/// authentication still runs first, so a caller without credentials learns nothing of the routes.
struct UnmatchedRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Each endpoint's methods, by its path's segments (`/v1/score/` is `/v1/score`, as routed).
    private let methods: [[Substring]: [HTTPRequest.Method]]

    init(routes: [Router<Context>.RouteDescription]) {
        var methods: [[Substring]: [HTTPRequest.Method]] = [:]
        for route in routes {
            methods[Self.segments(route.path.description), default: []].append(route.method)
            // The router answers HEAD for every GET (`autoGenerateHeadEndpoints`).
            if route.method == .get { methods[Self.segments(route.path.description), default: []].append(.head) }
        }
        self.methods = methods
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            guard let allowed = methods[Self.segments(path)] else {
                throw APIError(.notFound, code: "not_found", message: "no endpoint at \(path); docs/api.md lists the endpoints")
            }
            let names = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            throw APIError(.methodNotAllowed, code: "method_not_allowed",
                           message: "\(request.method.rawValue) is not allowed on \(path); use \(names) (docs/api.md)",
                           headers: [.allow: names])
        }
    }

    private static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/")
    }
}
