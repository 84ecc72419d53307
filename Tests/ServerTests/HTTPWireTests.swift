import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
@testable import Server
import Testing

/// Sends raw bytes to the server on loopback and reads until the server closes the connection:
/// for requests HummingbirdTesting's client cannot make (a chunked body). Send
/// `Connection: close` on the last request.
enum RawHTTP {
    static func exchange(port: Int, _ request: String) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var response = ByteBuffer()
            for try await var part in inbound { response.writeBuffer(&part) }
            return String(buffer: response)
        }
    }

    /// `body` in chunks of `size` bytes (RFC 9112 §7.1), with the last chunk.
    static func chunked(_ body: String, size: Int) -> String {
        let bytes = Array(body.utf8)
        var out = ""
        for start in stride(from: 0, to: bytes.count, by: size) {
            let chunk = bytes[start..<min(start + size, bytes.count)]
            out += String(chunk.count, radix: 16) + "\r\n" + String(decoding: chunk, as: UTF8.self) + "\r\n"
        }
        return out + "0\r\n\r\n"
    }

    /// The status line and the body of a response, without the headers that change (`Date`).
    static func statusAndBody(_ response: String) -> (status: String, body: String) {
        let head = response.prefix { $0 != "\r\n" }
        let body = response.range(of: "\r\n\r\n").map { String(response[$0.upperBound...]) } ?? ""
        return (String(head), body)
    }
}

@Suite("HTTP on the wire: chunked bodies, methods, paths")
struct HTTPWireTests {
    @Test("a chunked body over http.max_request_bytes: 413 request_too_large as JSON, like one with Content-Length")
    func chunkedBodyOverTheLimit() async throws {
        // 2048 bytes is the test server's limit; a JSON array of 3000 bytes, sent without a length.
        let body = "[" + String(repeating: " ", count: 2998) + "]"
        let expected = #"{"error":{"code":"request_too_large","message":"request body exceeds the limit of 2048 bytes; send fewer events per request","status":413}}"#
        try await withServer { client in
            let port = try #require(client.port)
            for path in ["/v1/score", "/v1/score/batch"] {
                let response = try await RawHTTP.exchange(port: port, """
                POST \(path) HTTP/1.1\r
                Host: 127.0.0.1\r
                X-API-Key: \(apiKey)\r
                Transfer-Encoding: chunked\r
                Connection: close\r
                \r
                \(RawHTTP.chunked(body, size: 500))
                """)
                let (status, answer) = RawHTTP.statusAndBody(response)
                #expect(status == "HTTP/1.1 413 Payload Too Large", "\(path)")
                #expect(answer == expected, "\(path)")
                #expect(response.contains("\r\nContent-Type: application/json\r\n"), "\(path)")
            }
            // Under the limit, a chunked body is scored as usual.
            let response = try await RawHTTP.exchange(port: port, """
            POST /v1/score HTTP/1.1\r
            Host: 127.0.0.1\r
            X-API-Key: \(apiKey)\r
            Transfer-Encoding: chunked\r
            Connection: close\r
            \r
            \(RawHTTP.chunked(eventJSON("chunked-1"), size: 100))
            """)
            let (status, answer) = RawHTTP.statusAndBody(response)
            #expect(status == "HTTP/1.1 200 OK")
            #expect(answer.hasPrefix(#"{"payment_id":"chunked-1","decision":"approve""#), "\(answer)")
        }
    }
}
