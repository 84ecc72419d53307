import Foundation
import Hummingbird
import Server
import Logging
import Prometheus

/// An API error with a stable machine-readable code: `{"error": "insufficient_funds", "message": "…"}`.
public struct ServiceHTTPError: HTTPResponseError, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String

    public init(_ status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static func badRequest(_ message: String) -> Self { .init(.badRequest, code: "invalid_request", message: message) }
    public static func notFound(_ message: String) -> Self { .init(.notFound, code: "not_found", message: message) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try JSONBody.response(ErrorBody(error: code, message: message), status: status)
    }

    struct ErrorBody: Codable {
        var error: String
        var message: String
    }
}

/// Text a service binds into a statement. PostgreSQL's `text` cannot hold U+0000, and the
/// schema bounds ids and references (`CHECK (length(…) BETWEEN 1 AND 128)`): refused here with a
/// 400 naming the field, where the database's refusal reached the client as a bare 500.
enum TextField {
    /// What is wrong with `value` as 1 to `maxBytes` bytes of UTF-8 text, or nil.
    static func problem(_ value: String, maxBytes: Int = 128) -> String? {
        if value.isEmpty || value.utf8.count > maxBytes { return "must be 1 to \(maxBytes) characters" }
        return nulProblem(value)
    }

    /// For free text of any length: only the NUL character is refused.
    static func nulProblem(_ value: String) -> String? {
        value.utf8.contains(0) ? "must not contain the NUL character (U+0000)" : nil
    }

    /// Throws `400 invalid_request` naming `field` if `value` is not 1 to `maxBytes` bytes of text.
    static func check(_ field: String, _ value: String, maxBytes: Int = 128) throws(ServiceHTTPError) {
        if let problem = problem(value, maxBytes: maxBytes) { throw .badRequest("field '\(field)' \(problem)") }
    }
}

/// JSON in and out, with the messages a client can act on when a body does not decode.
enum JSONBody {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Decodes the request body (at most `limit` bytes), turning decoding failures into a 400
    /// that names the field.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int = 1 << 20) async throws -> T {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch {
            throw ServiceHTTPError(.contentTooLarge, code: "body_too_large", message: "request body exceeds \(limit) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let DecodingError.keyNotFound(key, context) {
            throw ServiceHTTPError.badRequest("missing field '\(path(context.codingPath + [key]))'")
        } catch let DecodingError.typeMismatch(expected, context) {
            throw ServiceHTTPError.badRequest("field '\(path(context.codingPath))' must be \(describe(expected))")
        } catch let DecodingError.valueNotFound(expected, context) {
            throw ServiceHTTPError.badRequest("field '\(path(context.codingPath))' must be \(describe(expected)), not null")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw ServiceHTTPError.badRequest("field '\(path(context.codingPath))': \(context.debugDescription)")
        } catch {
            throw ServiceHTTPError.badRequest("body is not valid JSON")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int64.Type, is Int.Type: "an integer"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default: "\(type)"
        }
    }
}

/// `/actuator/health` and `/metrics`, the same on every service as on the engine.
enum OperationalRoutes {
    static func add<Context: RequestContext>(
        to router: Router<Context>, service: String, registry: PrometheusCollectorRegistry,
        checks: [String: @Sendable () async -> Bool]
    ) {
        router.get("/actuator/health") { _, _ -> Response in
            var components: [String: HealthBody.Component] = [:]
            for (name, check) in checks { components[name] = .init(status: await check() ? "UP" : "DOWN") }
            let up = components.values.allSatisfy { $0.status == "UP" }
            return try JSONBody.response(HealthBody(status: up ? "UP" : "DOWN", service: service, components: components),
                                         status: up ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ -> Response in
            try Caller.require(.metricsRead)
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 * 1024)
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    struct HealthBody: Encodable {
        struct Component: Encodable { var status: String }
        var status: String
        var service: String
        var components: [String: Component]
    }
}

extension Database {
    /// True when a pooled connection answers `SELECT 1`.
    func isReachable() async -> Bool {
        do {
            try await client.query("SELECT 1", logger: logger)
            return true
        } catch {
            return false
        }
    }
}
