import Foundation
import Testing
import LocalStackSupport

/// The engine as an operator runs it: the real binary, started, asked, and stopped by signal.
@Suite("waqiti serve process lifecycle", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct ServeLifecycleTests {
    @Test("serve answers health without credentials, 401 without them elsewhere, scores with them, and exits 0 on SIGTERM")
    func startScoreStop() async throws {
        let folder = try ProcessEnvironment.temporaryDirectory("lifecycle")
        let rules = folder.appendingPathComponent("lifecycle.rules")
        try """
        version "lifecycle-1"
        rule big_ticket: review +40 if amount > 500.00 USD
        """.write(to: rules, atomically: true, encoding: .utf8)
        let engine = try await ServeFixture(
            name: "lifecycle", topics: try EngineTopics.create("lifecycle"),
            environment: ["WAQITI_RULES_FILE": rules.path])

        let health = try await HTTP.request("GET", engine.url("/actuator/health"))
        #expect(health.status == 200, "health: \(health.text)")
        // The banner reaches a redirected stdout while serving, not only at exit (line-buffered).
        try await engine.process.waitForOutput(containing: "waqiti serve: HTTP on 127.0.0.1:\(engine.port)\n", timeout: .seconds(10))
        // The binary runs on jemalloc (Sources/Allocator), and says so before it serves.
        try await engine.process.waitForOutput(containing: "waqiti serve: allocator jemalloc 5.", timeout: .seconds(1))

        let event = Data("""
        {"payment_id":"lifecycle-1","occurred_at":"2026-11-29T08:15:30Z","account_id":"acct-1","card_fingerprint":"card-1","device_id":"dev-1","ip":"203.0.113.7","merchant_id":"m-1","mcc":"5411","amount_minor":75000,"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment"}
        """.utf8)
        let anonymous = try await HTTP.request("POST", engine.url("/v1/score?dry_run=true"), body: event)
        #expect(anonymous.status == 401)

        let scored = try await engine.request("POST", "/v1/score?dry_run=true", body: event)
        #expect(scored.status == 200, "score: \(scored.text)")
        let decision = try scored.json()
        #expect(decision["payment_id"] as? String == "lifecycle-1")
        #expect(decision["decision"] as? String == "review")
        #expect(decision["risk_points"] as? Int == 40)
        let reasons = decision["reasons"] as? [[String: Any]] ?? []
        #expect(reasons.compactMap { $0["rule"] as? String } == ["big_ticket"])

        engine.process.terminate()
        let status = try await engine.process.waitForExit(timeout: .seconds(60))
        #expect(status == 0, "serve exited \(status); stderr ends:\n\(engine.process.stderrTail())")
    }
}
