import Engine
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
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
        // The responder, not the router, crosses into the server's task: a router is not Sendable.
        let responder = router.buildResponder()
        return try await withPort({ listening in
            let app = Application(
                responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in await listening(channel.localAddress?.port ?? 0) },
                logger: Logger(label: "services-tests-http"))
            try await app.runService()
        }, body)
    }

    /// How long a server may take to listen (migrations included) before the test fails.
    static let startupLimit: Duration = .seconds(60)

    /// How long a server may take to stop once cancelled before the test fails.
    static let stopLimit: Duration = .seconds(20)

    /// Runs `serve` beside `body`, which gets the port `serve` reports through its `listening`
    /// callback. A server that ends before it reports (a port in use, a database that refused its
    /// connections) fails the caller at once with its error, and one that neither listens nor
    /// ends within `startupLimit` fails it too, instead of leaving it waiting for a port for good.
    /// Once `body` returns the server is cancelled; one that does not stop within `stopLimit`
    /// fails the caller with `ServerDidNotStop` and is left behind, so a test never waits for good.
    static func withPort<T: Sendable>(_ serve: @escaping @Sendable (_ listening: @escaping @Sendable (Int) async -> Void) async throws -> Void,
                                      _ body: (Int) async throws -> T) async throws -> T {
        let (events, continuation) = AsyncStream.makeStream(of: Startup.self)
        // Unstructured, unlike a task group's child, so that a server that ignores its
        // cancellation can be left behind instead of holding the test at the group's end.
        let server = Task {
            do {
                try await serve { continuation.yield(.listening($0)) }
                continuation.yield(.ended(nil))
            } catch {
                continuation.yield(.ended(error))
            }
        }
        let timer = Task {
            guard (try? await Task.sleep(for: startupLimit)) != nil else { return }
            continuation.yield(.tooSlow)
        }
        var iterator = events.makeAsyncIterator()
        let result: Result<T, any Error>
        switch await iterator.next() {
        case .listening(let port):
            timer.cancel()
            do { result = .success(try await body(port)) } catch { result = .failure(error) }
        case .ended(let error?): result = .failure(error)
        case .ended(nil): result = .failure(ServerDidNotListen(reason: "it stopped without an error before it listened"))
        case .tooSlow: result = .failure(ServerDidNotListen(reason: "it did not listen within \(startupLimit)"))
        case nil: result = .failure(CancellationError())
        }
        timer.cancel()
        server.cancel()
        do {
            try await withDeadline(stopLimit, timeout: { ServerDidNotStop(limit: stopLimit) }) { await server.value }
        } catch {
            // The body's own failure says more than the server's slow stop.
            _ = try result.get()
            throw error
        }
        return try result.get()
    }

    enum Startup: Sendable {
        case listening(Int)
        case ended((any Error)?)
        case tooSlow
    }
}

struct ServerDidNotStop: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "the server under test did not stop within \(limit) of its cancellation; it was left running" }
}

struct ServerDidNotListen: Error, CustomStringConvertible {
    var reason: String
    var description: String { "the server under test never reported its port: \(reason)" }
}

/// A JSON HTTP client over loopback: one SwiftNIO connection a request (HummingbirdTesting's
/// `TestClient`), each request bounded by `limit` (30 s).
///
/// Not URLSession: swift-corelibs-foundation's keeps connections pooled after the servers under
/// test are gone, and cannot be relied on to end a request it lost. A request not answered
/// within `limit` fails the test with `JSONClient.Failure` naming it; it never waits for good.
struct JSONClient: Sendable {
    let base: String
    /// Sent with every request unless a request's headers set the same name.
    var credentials: [String: String] = ["X-API-Key": LiveServer.key.key]
    /// Connecting, sending and reading the whole answer.
    var limit: Duration = .seconds(30)

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
        func string(_ key: String) -> String? { json[key] as? String }
    }

    /// A request that failed or was not answered in time, named.
    struct Failure: Error, CustomStringConvertible {
        var request: String
        var reason: String
        var description: String { "\(request): \(reason)" }
    }

    func send(_ method: String, _ path: String, json: Data? = nil, headers: [String: String] = [:]) async throws -> Reply {
        let name = "\(method) \(base)\(path)"
        guard let url = URLComponents(string: base), let host = url.host, let port = url.port,
              let httpMethod = HTTPRequest.Method(method) else {
            throw Failure(request: name, reason: "not a method and an http://host:port base URL this client can send")
        }
        var fields = HTTPFields()
        if json != nil { fields[.contentType] = "application/json" }
        for (field, value) in credentials.merging(headers, uniquingKeysWith: { $1 }) {
            guard let fieldName = HTTPField.Name(field) else { throw Failure(request: name, reason: "invalid header name '\(field)'") }
            fields[fieldName] = value
        }
        let request = TestClient.Request(url.path + path, method: httpMethod, authority: "\(host):\(port)", headers: fields,
                                         body: json.map { ByteBuffer(bytes: $0) })
        let client = TestClient(host: host, port: port, configuration: .init(timeout: limit))
        client.connect()
        let response: TestClient.Response
        do {
            response = try await withDeadline(limit, timeout: { Failure(request: name, reason: "no answer within \(limit)") }) {
                try await client.execute(request)
            }
        } catch {
            // Closing the connection also ends a request still waiting for its answer.
            try? await client.shutdown()
            throw error as? Failure ?? Failure(request: name, reason: "\(error)")
        }
        try? await client.shutdown()
        var replyHeaders: [String: String] = [:]
        for field in response.headers {
            replyHeaders[field.name.canonicalName] = replyHeaders[field.name.canonicalName].map { $0 + ", " + field.value } ?? field.value
        }
        return Reply(status: response.status.code, headers: replyHeaders, body: response.body.map { Data(buffer: $0) } ?? Data())
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
