/// A configuration value that cannot be used, with the key, where it came from, and how to fix it.
///
/// `WAQITI_HTTP_PORT: http.port: expected an integer in 0...65535, got "80a"; set a free TCP port such as 8083`
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The dotted key, e.g. `kafka.brokers`.
    public var key: String
    /// The file path or environment variable the bad value came from.
    public var source: String
    public var problem: String
    public var fix: String

    public init(key: String, source: String, problem: String, fix: String) {
        self.key = key
        self.source = source
        self.problem = problem
        self.fix = fix
    }

    public var description: String { "\(source): \(key): \(problem); \(fix)" }
}
