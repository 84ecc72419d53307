/// A model file that cannot be loaded: which file, which key (`features[3].std`), and what was
/// expected. The engine keeps its last good model and reports this message.
public struct ModelFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    /// The JSON path of the offending value, e.g. `features[3].std`; nil for whole-file problems.
    public var key: String?
    public var message: String

    public init(file: String, key: String?, message: String) {
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        if let key { return "\(file): \(key): \(message)" }
        return "\(file): \(message)"
    }
}
