import Foundation
import Testing

/// The gate and the addresses of the engine's integration tests: they run under scripts/test
/// (WAQITI_INTEGRATION=1, local stack started), and then a missing service is a failure, never a
/// skip.
enum EngineIntegration {
    static let isEnabled = ProcessInfo.processInfo.environment["WAQITI_INTEGRATION"] == "1"
    static let skipMessage: Comment =
        "SKIPPED: needs the real broker and Redis; run scripts/test (or start deploy/local, source env.sh, set WAQITI_INTEGRATION=1)"

    /// The value of a variable deploy/local/env.sh exports; records a failure naming it when missing.
    static func required(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            Issue.record("\(name) is not set: source deploy/local/env.sh after deploy/local/start.sh", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return value
    }

    /// A number unique to one test run, for topic, group and key names.
    static func runID() -> UInt64 { UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF }
}
