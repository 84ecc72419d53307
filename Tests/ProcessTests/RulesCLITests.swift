import Foundation
import Testing
import LocalStackSupport

/// `waqiti rules check|test|explain` as an analyst runs them: the real binary, exact output lines
/// and exit status.
@Suite("waqiti rules CLI", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct RulesCLITests {
    static let rules = """
    version "cli-1"
    list risky = ["7995", "4829"]
    let card_10m = count(card_fingerprint, 10m)
    rule card_testing: decline +40 if card_10m >= 3 and amount < 5.00 USD
        because "{card_10m} charges in 10 minutes"
    rule risky_mcc: review +20 if mcc in @risky
    shadow rule tiny: review if amount < 1.00 USD
    threshold decline if risk_points >= 60
    """

    /// A folder holding `cli.rules` (and whatever else the test writes there).
    static func folder(_ stem: String, rules text: String = rules) throws -> (folder: URL, rules: URL) {
        let folder = try ProcessEnvironment.temporaryDirectory(stem)
        let rules = folder.appendingPathComponent("cli.rules")
        try text.write(to: rules, atomically: true, encoding: .utf8)
        return (folder, rules)
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    }

    @Test("check: a good file prints its version, counts and features and exits 0")
    func checkGoodFile() async throws {
        let (_, rules) = try Self.folder("cli-check-ok")
        let result = try await WaqitiProcess.run(["rules", "check", rules.path])
        let version = try RulesFileVersion.expected("cli-1", Self.rules)
        #expect(result.status == 0)
        #expect(Self.lines(result.stdout) == [
            "\(rules.path): ok, version \(version), 4 rules and thresholds, 1 features",
            "  feature count(card_fingerprint,10m)",
        ])
        #expect(result.stderr == "")
    }

    /// A reload that adds an aggregate restarts its key field's windows; whether it does depends on
    /// the engine's whole plan, which also holds the model's features.
    @Test("check --against: names the new features and the key fields whose windows a reload restarts; with the model's features already there, none")
    func checkAgainstLiveRules() async throws {
        let (folder, live) = try Self.folder("cli-check-against")
        let next = folder.appendingPathComponent("next.rules")
        try (Self.rules + "\nrule hourly: review if count(card_fingerprint, 1h) > 20\n").write(to: next, atomically: true, encoding: .utf8)
        let alone = try await WaqitiProcess.run(["rules", "check", next.path, "--against", live.path])
        #expect(alone.status == 0)
        #expect(Array(Self.lines(alone.stdout).dropFirst(3)) == [
            "reload from \(live.path): 1 new feature: count(card_fingerprint,1h)",
            "  the windows of card_fingerprint restart: their counts, sums and seconds_since_* see only events after the reload",
        ])
        // models/default.json reads count(card_fingerprint, 1h) itself: the engine has that column.
        let withModel = try await WaqitiProcess.run(["rules", "check", next.path, "--against", live.path, "--model", "models/default.json"])
        #expect(withModel.status == 0)
        #expect(Self.lines(withModel.stdout).last == "reload from \(live.path) with models/default.json: no new features; no key field's windows restart")
        let broken = try await WaqitiProcess.run(["rules", "check", next.path, "--against", folder.appendingPathComponent("missing.rules").path])
        #expect(broken.status == 1)
        #expect(Self.lines(broken.stderr).first == "--against \(folder.appendingPathComponent("missing.rules").path) does not load, so the reload cannot be compared:")
    }

    @Test("check: a broken file prints every error as file:line:col: message and exits 1")
    func checkBrokenFile() async throws {
        let (_, rules) = try Self.folder("cli-check-broken", rules: """
        version "cli-2"
        rule one: decline if cuont(card_fingerprint, 10m) >= 5
        rule two: review if amount > 500
        rule three: review if mcc in @riksy
        rule four: allow if ip_country == "GBR"
        """)
        let result = try await WaqitiProcess.run(["rules", "check", rules.path])
        #expect(result.status == 1)
        #expect(result.stdout == "")
        #expect(Self.lines(result.stderr) == [
            "\(rules.path):2:22: unknown function 'cuont'; did you mean 'count'?",
            "\(rules.path):3:28: money compares only with money: give the number a currency (e.g. 500.00 USD) or use amount_usd",
            "\(rules.path):4:30: unknown list '@riksy'",
            "\(rules.path):5:32: \"GBR\" is not a country code; countries are two upper-case letters (ISO 3166-1 alpha-2) such as \"US\"",
        ])
    }

    @Test("check: a missing file or list file is an error naming the path, exit 1")
    func checkMissingFiles() async throws {
        let missing = try ProcessEnvironment.temporaryDirectory("cli-missing").appendingPathComponent("absent.rules")
        let result = try await WaqitiProcess.run(["rules", "check", missing.path])
        #expect(result.status == 1)
        #expect(Self.lines(result.stderr).count == 1)
        #expect(result.stderr.hasPrefix("\(missing.path): cannot read: "))

        let (_, rules) = try Self.folder("cli-missing-list", rules: """
        list blocked = file("lists/blocked.txt")
        rule blocked_device: decline if device_id in @blocked
        """)
        let list = try await WaqitiProcess.run(["rules", "check", rules.path])
        #expect(list.status == 1)
        #expect(Self.lines(list.stderr).count == 1)
        #expect(list.stderr.hasPrefix("\(rules.path):1:21: cannot read list file 'lists/blocked.txt': "))
    }

    @Test("check: the shipped rules/default.rules compiles")
    func checkDefaultRules() async throws {
        let result = try await WaqitiProcess.run(["rules", "check", "rules/default.rules"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("rules/default.rules: ok, version 2026.11-1+"))
    }

    static let tests = """
    defaults: { account_id: acct_cli, card_fingerprint: card_cli, mcc: "5411" }
    cases:
      - name: three small charges on one card are declined
        events:
          - { at: "2026-03-01T10:00:00Z", amount: "1.50 USD" }
          - { after: 1m, amount: "1.50 USD" }
          - { after: 1m, amount: "2.00 USD" }
        expect: { decision: decline, reasons: [card_testing], shadow: [], risk_points: 40 }
      - name: a wrong expectation fails with a diff
        events:
          - { at: "2026-03-01T10:00:00Z", mcc: "7995", amount: "0.50 USD" }
        expect: { decision: decline, reasons: [card_testing], risk_points: 20 }
    """

    @Test("test: runs the cases, prints PASS/FAIL with a readable diff and the summary; exit 1 on a failure")
    func testCommand() async throws {
        let (folder, rules) = try Self.folder("cli-test")
        let tests = folder.appendingPathComponent("tests")
        try FileManager.default.createDirectory(at: tests, withIntermediateDirectories: true)
        try Self.tests.write(to: tests.appendingPathComponent("cases.yaml"), atomically: true, encoding: .utf8)

        let result = try await WaqitiProcess.run(["rules", "test", rules.path])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(Self.lines(result.stdout) == [
            "PASS cases.yaml: three small charges on one card are declined",
            "FAIL cases.yaml: a wrong expectation fails with a diff",
            "    decision: expected decline, got review (by risky_mcc)",
            "    reasons: expected [card_testing], got [risky_mcc] — missing [card_testing], unexpected [risky_mcc]",
            "    matched:",
            "      risky_mcc: review +20 [mcc=\"7995\"]",
            "      tiny (shadow): review [amount=0.50 USD]",
            "1 passed, 1 failed",
        ])

        let filtered = try await WaqitiProcess.run(["rules", "test", rules.path, "--filter", "three small"])
        #expect(filtered.status == 0, "\(filtered.stderr)")
        #expect(Self.lines(filtered.stdout) == ["PASS cases.yaml: three small charges on one card are declined", "1 passed, 0 failed"])

        let mistyped = try await WaqitiProcess.run(["rules", "test", rules.path, "--filter", "thre small"])
        #expect(mistyped.status == 1)
        #expect(mistyped.stderr == "Error: --filter 'thre small' matches no test case; run without it to list every case\n")
    }

    @Test("test: the shipped rules and their tests pass")
    func testDefaultRules() async throws {
        let result = try await WaqitiProcess.run(["rules", "test", "rules/default.rules"])
        #expect(result.status == 0, "\(result.stdout.suffix(2000))")
        #expect(Self.lines(result.stdout).last?.hasSuffix(" passed, 0 failed") == true)
        #expect(!result.stdout.contains("FAIL "))
    }

    static func event(_ id: String, at time: String, amount: Int, mcc: String = "5411") -> String {
        """
        {"payment_id":"\(id)","occurred_at":"\(time)","account_id":"acct_cli","card_fingerprint":"card_cli","device_id":"dev_cli","ip":"203.0.113.5","merchant_id":"m_cli","mcc":"\(mcc)","amount_minor":\(amount),"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment"}
        """
    }

    @Test("explain: which rules match an event, why, and the feature values read")
    func explainCommand() async throws {
        let (folder, rules) = try Self.folder("cli-explain")
        let version = try RulesFileVersion.expected("cli-1", Self.rules)

        let single = try await WaqitiProcess.run(["rules", "explain", rules.path, "--event", Self.event("p-1", at: "2026-03-01T10:00:00Z", amount: 50, mcc: "7995")])
        #expect(single.status == 0, "\(single.stderr)")
        #expect(Self.lines(single.stdout) == [
            "rules \(version), event p-1 at 2026-03-01T10:00:00.000Z",
            "decision: review (by risky_mcc), risk points 20",
            "  risky_mcc: review +20 [mcc=\"7995\"]",
            "  tiny (shadow): review [amount=0.50 USD]",
            "features:",
            "  count(card_fingerprint,10m) = 1",
        ])

        let history = folder.appendingPathComponent("history.jsonl")
        try [Self.event("h-1", at: "2026-03-01T09:58:00Z", amount: 150), Self.event("h-2", at: "2026-03-01T09:59:00Z", amount: 150)]
            .joined(separator: "\n").write(to: history, atomically: true, encoding: .utf8)
        let withHistory = try await WaqitiProcess.run([
            "rules", "explain", rules.path, "--event", Self.event("p-2", at: "2026-03-01T10:00:00Z", amount: 200), "--history", history.path,
        ])
        #expect(withHistory.status == 0, "\(withHistory.stderr)")
        #expect(Self.lines(withHistory.stdout) == [
            "rules \(version), event p-2 at 2026-03-01T10:00:00.000Z after 2 events from \(history.path)",
            "decision: decline (by card_testing), risk points 40",
            "  card_testing: decline +40 [card_10m=3, count(card_fingerprint,10m)=3, amount=2.00 USD] \"3 charges in 10 minutes\"",
            "features:",
            "  count(card_fingerprint,10m) = 3",
        ])

        let nothing = try await WaqitiProcess.run(["rules", "explain", rules.path, "--event", Self.event("p-3", at: "2026-03-01T10:00:00Z", amount: 5000)])
        #expect(nothing.status == 0, "\(nothing.stderr)")
        #expect(Self.lines(nothing.stdout) == [
            "rules \(version), event p-3 at 2026-03-01T10:00:00.000Z",
            "decision: approve (nothing matched), risk points 0",
            "no rule matched",
            "features:",
            "  count(card_fingerprint,10m) = 1",
        ])

        let bad = try await WaqitiProcess.run(["rules", "explain", rules.path, "--event", "{\"payment_id\":\"p-4\"}"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--event: "))
    }
}

/// The `rules_version` a file without lists or a rates file gets: `LABEL+` the first 12 hex
/// digits of SHA-256 over its bytes, computed outside waqiti (sha256sum).
enum RulesFileVersion {
    static func expected(_ label: String, _ text: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
        try input.fileHandleForWriting.close()
        let digest = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return label + "+" + digest.prefix(12)
    }
}
