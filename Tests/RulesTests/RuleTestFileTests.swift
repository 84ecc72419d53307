import Testing
@testable import Rules

/// Rule test files refuse keys the format does not have: a misspelt `devcie_id` or `reasnos` was
/// silently ignored, so the case tested another event, or checked no reasons, and passed.
struct RuleTestFileTests {
    static func file(event: String = "{ device_id: dev_9 }", expect: String = "{ decision: review, reasons: [a] }", extra: String = "") -> String {
        """
        defaults: { account_id: acct_1 }
        cases:
          - name: a blocked device
            events:
              - { at: "2026-03-02T09:00:00Z" }
              - \(event)
            expect: \(expect)
        \(extra)
        """
    }

    static func error(_ text: String) -> String? {
        do {
            _ = try RuleTestFile(path: "t.yaml", text: text)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func aWellFormedFileLoads() throws {
        let file = try RuleTestFile(path: "t.yaml", text: Self.file())
        #expect(file.cases.count == 1)
        #expect(file.cases[0].events.last?.deviceID == "dev_9")
        #expect(file.cases[0].expect.reasons == ["a"])
    }

    @Test(arguments: [
        (file(event: "{ devcie_id: dev_9 }"),
         "t.yaml: case 'a blocked device': event 2: unknown key 'devcie_id'; did you mean 'device_id'?; the keys here are payment_id, at, after, repeat, account_id, card_fingerprint, device_id, ip, merchant_id, mcc, amount, card_country, ip_country, channel, type, beneficiary_id, metadata"),
        (file(expect: "{ decision: review, reasnos: [a] }"),
         "t.yaml: case 'a blocked device': expect: unknown key 'reasnos'; did you mean 'reasons'?; the keys here are decision, reasons, shadow, risk_points"),
        (file(extra: "case: []"),
         "t.yaml: top level: unknown key 'case'; did you mean 'cases'?; the keys here are rules, defaults, cases"),
        ("defaults: { acount_id: a }\ncases:\n  - events: [{}]\n    expect: { decision: approve }",
         "t.yaml: defaults: unknown key 'acount_id'; did you mean 'account_id'?; the keys here are payment_id, account_id, card_fingerprint, device_id, ip, merchant_id, mcc, amount, card_country, ip_country, channel, type, beneficiary_id, metadata"),
        ("cases:\n  - events: [{}]\n    expcet: { decision: approve }",
         "t.yaml: case 'case 1': unknown key 'expcet'; did you mean 'expect'?; the keys here are name, defaults, events, model_score, expect"),
        ("cases:\n  - name: x\n    defaults: { at: \"2026-01-01T00:00:00Z\" }\n    events: [{}]\n    expect: { decision: approve }",
         "t.yaml: case 'x': defaults: 'at' is per event and has no effect in defaults; set it on the events"),
    ])
    func unknownKeysAreRefusedWithTheKeyAndTheCase(_ text: String, _ message: String) {
        #expect(Self.error(text) == message)
    }
}
