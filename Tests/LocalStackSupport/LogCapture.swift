import Logging
import Synchronization

/// A logger whose records a test can read back: what an operator would see in the log.
public final class LogCapture: Sendable {
    public struct Record: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    private let records = Mutex<[Record]>([])
    /// Records below this level are dropped, as a handler at that level would.
    private let minimumLevel: Logger.Level

    public init(minimumLevel: Logger.Level = .trace) { self.minimumLevel = minimumLevel }

    public var logger: Logger { Logger(label: "capture") { _ in Handler(capture: self, logLevel: self.minimumLevel) } }
    public var all: [Record] { records.withLock { $0 } }

    fileprivate func append(_ record: Record) { records.withLock { $0.append(record) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            let merged = self.metadata.merging(metadata ?? [:]) { $1 }
            capture.append(Record(level: level, message: "\(message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}
