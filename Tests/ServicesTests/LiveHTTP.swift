import Engine
import Foundation
import Hummingbird
import Logging
import Server
@testable import Services
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Serves a router on 127.0.0.1 with an OS-chosen port for the duration of `body`.
enum LiveServer {
    /// A key with every scope, named `ana`: what `JSONClient` sends unless told otherwise, so
    /// tests of what a route does are authenticated as in production (and resolve reviews as ana).
    static let key = APIKey(name: "ana", scopes: Set(APIScope.allCases), key: "tests-ana-key-0123456789")

    /// A router behind the services' authentication (added first: Hummingbird wraps each route
    /// in the middleware present when the route is added) accepting `key`.
    static func authenticatedRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: AuthenticationMiddleware(apiKeys: [key], jwtSecret: nil, limiter: RateLimiter(ratePerSecond: 1_000_000)))
        return router
    }

    static func with<T: Sendable>(_ router: Router<BasicRequestContext>, _ body: @Sendable (Int) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "services-tests-http"))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            return try await body(port)
        }
    }
}

/// A JSON HTTP client over loopback (URLSession, as the services themselves use).
struct JSONClient: Sendable {
    let base: String
    /// Sent with every request unless a request's headers set the same name.
    var credentials: [String: String] = ["X-API-Key": LiveServer.key.key]
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        return URLSession(configuration: configuration)
    }()

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
        func string(_ key: String) -> String? { json[key] as? String }
    }

    func send(_ method: String, _ path: String, json: Data? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.httpBody = json
        if json != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        for (name, value) in credentials.merging(headers, uniquingKeysWith: { $1 }) { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await Self.session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    func post(_ path: String, _ value: some Encodable, headers: [String: String] = [:]) async throws -> Reply {
        try await send("POST", path, json: try JSONEncoder().encode(value), headers: headers)
    }

    func get(_ path: String) async throws -> Reply { try await send("GET", path) }
}

extension ServiceCredential {
    /// `LiveServer.key`, as the payment service sends its key to the wallet.
    static let testKey = ServiceCredential(kind: .apiKey(LiveServer.key.key))
}
