import Foundation
import Testing

/// The one gate and address book for every test that talks to a real service (Redis, the
/// Kafka-protocol broker, PostgreSQL, a launched `waqiti` process).
///
/// `scripts/test` (and CI) starts deploy/local, sources deploy/local/env.sh and sets
/// `WAQITI_INTEGRATION=1`; then a missing variable or a service that is down is a failure, never
/// a skip. Without the variable the integration suites are skipped, saying how to run them.
public enum LocalStack {
    /// Use as `.enabled(if: LocalStack.isEnabled, LocalStack.skipMessage)`.
    public static let isEnabled = ProcessInfo.processInfo.environment["WAQITI_INTEGRATION"] == "1"

    public static let skipMessage: Comment =
        "SKIPPED: needs the local stack (Redis, the Kafka-protocol broker, PostgreSQL, the built waqiti binary); run scripts/test, or run deploy/local/start.sh, source deploy/local/env.sh and set WAQITI_INTEGRATION=1"

    /// The value of a variable deploy/local/env.sh exports. A missing one records a failure naming
    /// it at the caller's line and throws, so the test stops there instead of using a default
    /// address that may belong to someone else's server.
    public static func required(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            Issue.record("\(name) is not set: source deploy/local/env.sh after deploy/local/start.sh", sourceLocation: sourceLocation)
            throw MissingVariable(name: name)
        }
        return value
    }

    /// A name unique to one test run (topics, consumer groups, databases, key prefixes), so reruns
    /// and other tests never see each other's state.
    public static func uniqueName(_ stem: String) -> String {
        "waqiti-test-\(stem)-\(runID())"
    }

    /// A number unique to one test run, for names built by hand.
    public static func runID() -> UInt64 { UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF }
}

/// Thrown by `LocalStack.required` after it recorded the failure.
public struct MissingVariable: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "\(name) is not set: source deploy/local/env.sh" }
}
