import Foundation
import Testing

/// The gate and the addresses for tests that talk to real services. `scripts/test` starts the
/// local stack, sources deploy/local/env.sh and sets WAQITI_INTEGRATION=1; then a missing variable
/// or a service that is down is a failure, never a skip.
enum IntegrationEnvironment {
    /// Use as `.enabled(if: IntegrationEnvironment.isEnabled, IntegrationEnvironment.skipMessage)`:
    /// outside scripts/test the integration tests are skipped, with this message in the output.
    static let isEnabled = ProcessInfo.processInfo.environment["WAQITI_INTEGRATION"] == "1"
    static let skipMessage: Comment =
        "SKIPPED: integration test needs the real local stack; run scripts/test (or start deploy/local, source env.sh and set WAQITI_INTEGRATION=1)"

    /// The value of an environment variable that env.sh exports; records a failure naming the
    /// variable when it is missing.
    static func required(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            Issue.record("\(name) is not set: source deploy/local/env.sh after deploy/local/start.sh", sourceLocation: sourceLocation)
            throw MissingVariable(name: name)
        }
        return value
    }

    struct MissingVariable: Error { let name: String }

    /// A prefix unique to one test run, so parallel tests and reruns never see each other's keys
    /// or topics.
    static func uniqueName(_ stem: String) -> String {
        "waqiti-test-\(stem)-\(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF)"
    }
}
