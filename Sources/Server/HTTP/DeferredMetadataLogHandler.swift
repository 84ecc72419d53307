import Logging

/// swift-log's stream handler writing to standard error, except that the logger's metadata is
/// turned into text only when a line is actually written.
///
/// `StreamLogHandler` formats all of its metadata every time one key is set, and Hummingbird sets
/// a request id on the logger of every request: on `POST /v1/score` that was about 5 µs of string
/// formatting per request (2% of the engine's CPU under load) for lines that are almost never
/// written. This handler keeps the metadata as values and passes it along with each message, so
/// what is written is the same text `StreamLogHandler` writes.
public struct DeferredMetadataLogHandler: LogHandler {
    private var stream: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    public init(label: String) {
        stream = StreamLogHandler.standardError(label: label)
    }

    /// Writes to `stream` instead of standard error (tests compare it with `StreamLogHandler`).
    public init(label: String, stream: any TextOutputStream & Sendable) {
        self.stream = StreamLogHandler(label: label, stream: stream)
    }

    public var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        guard !metadata.isEmpty else { return stream.log(event: event) }
        var event = event
        // The message's own metadata wins over the logger's, as in `StreamLogHandler`. (One
        // difference: a key both on the logger and from a metadata provider keeps the logger's
        // value here; `waqiti serve` installs no provider.)
        event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        stream.log(event: event)
    }
}
