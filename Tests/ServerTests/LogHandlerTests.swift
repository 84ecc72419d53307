import Logging
import Server
import Synchronization
import Testing

/// Collects what a stream handler writes.
private final class Lines: TextOutputStream, Sendable {
    private let text = Mutex("")
    func write(_ string: String) { text.withLock { $0 += string } }
    /// The written lines without their leading timestamp (the clock's second may differ).
    var withoutTimestamps: [String] {
        text.withLock { $0 }.split(separator: "\n").map { $0.drop(while: { $0 != " " }).dropFirst().description }
    }
}

@Suite("Deferred metadata log handler")
struct LogHandlerTests {
    @Test("writes exactly what StreamLogHandler writes: logger metadata sorted, the message's metadata winning")
    func sameOutputAsStreamHandler() {
        func write(_ factory: (String) -> any LogHandler) {
            var logger = Logger(label: "waqiti.test", factory: factory)
            logger.info("no metadata")
            logger[metadataKey: "hb.request.id"] = "42"
            logger[metadataKey: "b"] = "logger"
            logger.notice("with metadata", metadata: ["b": "message", "a": "1"])
            logger.debug("below the level")
            logger[metadataKey: "b"] = nil
            logger.warning("one key left")
        }
        let deferred = Lines(), stream = Lines()
        write { DeferredMetadataLogHandler(label: $0, stream: deferred) }
        write { StreamLogHandler(label: $0, stream: stream, metadataProvider: nil) }
        #expect(deferred.withoutTimestamps == [
            "info waqiti.test: [ServerTests] no metadata",
            "notice waqiti.test: a=1 b=message hb.request.id=42 [ServerTests] with metadata",
            "warning waqiti.test: hb.request.id=42 [ServerTests] one key left",
        ])
        #expect(deferred.withoutTimestamps == stream.withoutTimestamps)
    }

    @Test("the log level is the handler's: info by default, settable per logger")
    func logLevel() {
        let lines = Lines()
        var logger = Logger(label: "waqiti.test") { DeferredMetadataLogHandler(label: $0, stream: lines) }
        #expect(logger.logLevel == .info)
        logger.logLevel = .debug
        logger.debug("now written")
        #expect(lines.withoutTimestamps == ["debug waqiti.test: [ServerTests] now written"])
    }
}
