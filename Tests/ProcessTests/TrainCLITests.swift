import Foundation
import Testing
import LocalStackSupport

/// `waqiti train` as a user runs it: the real binary on small simulated files, exit status and
/// messages. Needs no local stack.
@Suite("waqiti train CLI", .temporaryFolder)
struct TrainCLITests {
    static let spec = ProcessEnvironment.packageRoot.appendingPathComponent("models/spec.json").path

    /// `waqiti simulate --events N --seed 1` into the test's folder, each line passed through `edit`.
    static func events(_ stem: String, count: Int = 3000, edit: (String) -> String = { $0 }) async throws -> (folder: URL, file: String) {
        let folder = try ProcessEnvironment.temporaryDirectory(stem)
        let raw = folder.appendingPathComponent("raw.jsonl").path
        let simulated = try await WaqitiProcess.run(["simulate", "--events", "\(count)", "--seed", "1", "--out", raw])
        #expect(simulated.status == 0, "\(simulated.stderr)")
        let lines = try String(contentsOfFile: raw, encoding: .utf8).split(separator: "\n").map { edit(String($0)) }
        let file = folder.appendingPathComponent("events.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return (folder, file)
    }

    @Test("a negative or non-finite --l2 is a usage error (exit 64) before any training", arguments: ["-1", "nan", "inf"])
    func l2IsValidated(value: String) async throws {
        let (folder, events) = try await Self.events("train-l2-\(value)", count: 500)
        let out = folder.appendingPathComponent("m.json").path
        let result = try await WaqitiProcess.run(["train", "--input", events, "--spec", Self.spec, "--out", out, "--l2=\(value)"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--l2 must be a finite number >= 0"))
        #expect(!result.stdout.contains("replayed"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("--out's help says the spec's name wins, and it does")
    func outHelpMatchesTheModelName() async throws {
        let help = try await WaqitiProcess.run(["train", "--help"])
        #expect(help.status == 0)
        let flattened = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flattened.contains("The model's name is the spec's \"name\", or this file's name without .json when the spec has none."))
        let (folder, events) = try await Self.events("train-name")
        let spec = folder.appendingPathComponent("spec.json")
        try #"{"name": "from-spec", "features": ["amount_usd", "count(card_fingerprint, 1h)"]}"#.write(to: spec, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("from-out.json").path
        let result = try await WaqitiProcess.run(["train", "--input", events, "--spec", spec.path, "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8).contains("\"name\": \"from-spec\""))
    }

    @Test("events all at one time are refused (exit 1) with the split's counts, not written as a zero model")
    func oneTimestampIsRefused() async throws {
        let (folder, events) = try await Self.events("train-one-time") { line in
            line.replacingOccurrences(of: #""occurred_at":"[^"]*""#, with: #""occurred_at":"2026-11-01T00:00:00.000Z""#, options: .regularExpression)
        }
        let out = folder.appendingPathComponent("m.json").path
        let result = try await WaqitiProcess.run(["train", "--input", events, "--spec", Self.spec, "--out", out])
        #expect(result.status == 1)
        #expect(result.stderr.contains("leaves 0 training and 3000 validation rows"))
        #expect(result.stderr.contains("all 3000 rows have the same event time"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("legit-only events are refused (exit 1), not recorded with AUC 0")
    func oneClassIsRefused() async throws {
        let (folder, events) = try await Self.events("train-one-class") { $0.replacingOccurrences(of: #""label":"fraud""#, with: #""label":"legit""#) }
        let out = folder.appendingPathComponent("m.json").path
        let result = try await WaqitiProcess.run(["train", "--input", events, "--spec", Self.spec, "--out", out])
        #expect(result.status == 1)
        #expect(result.stderr.contains("rows are all legit"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
