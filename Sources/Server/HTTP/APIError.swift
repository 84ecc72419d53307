import Foundation
import Hummingbird

/// An error answered as `{"error": {"status": 400, "code": "…", "message": "…", "field": "…"}}`
/// (a 403 names the missing `"scope"` instead of a field), so every client gets a machine-readable
/// code and a sentence a person can act on.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// The request field at fault, when there is one.
    public var field: String?
    /// The scope the credential lacks (403 `missing_scope`).
    public var scope: String?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, field: String? = nil, scope: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.scope = scope
        self.headers = headers
    }

    private struct Body: Encodable {
        struct Detail: Encodable {
            var status: Int
            var code: String
            var message: String
            var field: String?
            var scope: String?
        }
        var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(error: .init(status: status.code, code: code, message: message, field: field, scope: scope))
        let encoder = JSONEncoder()
        // Unescaped slashes: messages name files and paths (docs/api.md), read by people too.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(body)
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, code: "unauthorized", message: message, headers: [.wwwAuthenticate: "Bearer"])
    }

    static func tooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "request_too_large", message: "request body exceeds the limit of \(limit) bytes; send fewer events per request")
    }
}
