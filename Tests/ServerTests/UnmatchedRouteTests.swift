import Hummingbird
import HummingbirdTesting
@testable import Server
import Testing

private func notAllowed(_ method: String, _ path: String, _ allowed: String) -> String {
    #"{"error":{"code":"method_not_allowed","message":"\#(method) is not allowed on \#(path); use \#(allowed) (docs/api.md)","status":405}}"#
}

@Suite("Unknown paths and methods, over loopback")
struct UnmatchedRouteTests {
    // Before, each of these was a 404 with an empty body, whether the path existed or not.
    @Test("a known path under another method: 405 with Allow and a JSON error", arguments: [
        ("GET", "/v1/score", "POST"),
        ("OPTIONS", "/v1/score/batch", "POST"),
        ("PUT", "/v1/score/", "POST"),
        ("DELETE", "/v1/rules", "GET, HEAD"),
        ("POST", "/metrics", "GET, HEAD"),
    ])
    func methodNotAllowed(method: String, path: String, allowed: String) async throws {
        try await withServer { client in
            try await client.execute(uri: path, method: HTTPRequest.Method(method)!, headers: keyHeader) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == allowed)
                #expect(response.headers[.contentType] == "application/json")
                #expect(String(buffer: response.body) == notAllowed(method, path, allowed))
            }
        }
    }

    @Test("an unknown path: 404 as JSON with credentials, 401 without (the routes stay private)")
    func unknownPath() async throws {
        try await withServer { client in
            try await client.execute(uri: "/v1/scores", method: .post, headers: keyHeader) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/json")
                #expect(String(buffer: response.body) == #"{"error":{"code":"not_found","message":"no endpoint at /v1/scores; docs/api.md lists the endpoints","status":404}}"#)
            }
            for (uri, method) in [("/v1/scores", HTTPRequest.Method.post), ("/v1/score", .get)] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .unauthorized, "\(method) \(uri)")
                }
            }
        }
    }

    @Test("health answers HEAD without credentials; POST on it is 405")
    func health() async throws {
        try await withServer { client in
            for path in ["/actuator/health", "/actuator/health/readiness", "/actuator/health/liveness"] {
                try await client.execute(uri: path, method: .head) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.body.readableBytes == 0)
                }
                try await client.execute(uri: path, method: .post) { response in
                    #expect(response.status == .methodNotAllowed)
                    #expect(String(buffer: response.body) == notAllowed("POST", path, "GET, HEAD"))
                }
            }
            try await client.execute(uri: "/v1/rules", method: .head, headers: keyHeader) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
        }
    }
}
