import HummingbirdCore
import NIOCore

/// How long the platform's HTTP servers (the engine on 8083, the services on 8081, 8082, 8084)
/// keep a connection on which nothing happens.
///
/// Hummingbird's `.http1()` closes no connection by itself: a client that connected and sent
/// nothing, or half a request head (slow loris), held its socket and file descriptor for good.
/// With a timeout a connection is closed once it has read nothing for that long while no response
/// is owed; a request whose handler is still working is not cut, and each part of a request body
/// that arrives starts the wait again.
public enum HTTPIdleTimeout {
    /// 75 s: longer than the 60 s for which nginx (staging's proxy, `keepalive` upstreams) and
    /// typical client pools keep an idle connection, so the client closes it first and never sends
    /// a request on a connection the server is closing at that moment.
    public static let `default`: Duration = .seconds(75)

    /// HTTP/1.1 that closes a connection idle for `timeout`.
    public static func http1(_ timeout: Duration) -> HTTPServerBuilder {
        .http1(configuration: .init(idleTimeout: TimeAmount(timeout)))
    }
}
