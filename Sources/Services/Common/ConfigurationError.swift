/// A configuration value that cannot be used, naming the key so the operator knows what to fix.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "configuration '\(key)': \(message)" }
}
