import ArgumentParser
import Features
import Foundation
import FraudCore
import Model
import Rules

/// `waqiti rules check|test|explain`: the analyst's tools for rules files.
struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check, test and explain rules files (docs/rules.md).",
        subcommands: [Check.self, Test.self, Explain.self]
    )

    /// The feature store rule tests and explanations run on: the real in-memory store, fresh per run.
    static func makeStore(_ rates: ExchangeRates) -> any FeatureStore {
        InMemoryFeatureStore(rates: rates)
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse, type-check and compile a rules file with its lists; print every error as file:line:col: message.",
            discussion: """
                Exit status 0 when the file compiles, 1 otherwise. With --against LIVE (and --model, \
                when the engine runs one), also says which key fields' windows a hot reload from LIVE \
                to FILE would restart: their counts, sums and seconds_since_* start afresh, because \
                new aggregates change their layout (docs/features.md, "Plan changes"). The answer is \
                exact for an engine started on LIVE and that model; one that has reloaded other sets \
                since keeps their features too and may restart fewer.
                """
        )

        @Argument(help: "The rules file.")
        var file: String

        @Option(help: "Rates file (default: rates.json next to the rules file, else built-in rates).")
        var rates: String?

        @Option(help: "The rules file the engine runs now: report which windows a reload from it to FILE restarts.")
        var against: String?

        @Option(help: "With --against: the model file the engine runs (its features are in the engine's plan too).")
        var model: String?

        func validate() throws {
            if model != nil, against == nil { throw ValidationError("--model needs --against: it describes the engine a reload would happen in") }
        }

        func run() throws {
            let ruleSet: RuleSet
            do {
                ruleSet = try RuleSetLoader(rulesPath: file, ratesPath: rates).load()
                print("\(file): ok, version \(ruleSet.version), \(ruleSet.ruleNames.count) rules and thresholds, \(ruleSet.featurePlan.count) features")
                for feature in ruleSet.featurePlan.features { print("  feature \(feature.canonicalName)") }
            } catch {
                for line in error.lines { printError(line) }
                throw ExitCode(1)
            }
            if let against { try printReload(from: against, to: ruleSet) }
        }

        /// The engine's plan is the live set's features, then the model's, then (after the reload)
        /// the new set's appended: columns are never renumbered (`PlanBinder`).
        private func printReload(from live: String, to next: RuleSet) throws {
            var plan: FeaturePlan
            do {
                plan = try RuleSetLoader(rulesPath: live, ratesPath: rates).load().featurePlan
            } catch {
                printError("--against \(live) does not load, so the reload cannot be compared:")
                for line in error.lines { printError(line) }
                throw ExitCode(1)
            }
            if let model {
                do {
                    _ = try CompiledModel.load(path: model, plan: &plan, rates: next.rates)
                } catch {
                    printError("--model: \(error)")
                    throw ExitCode(1)
                }
            }
            let grown = plan.appending(next.featurePlan)
            let added = grown.features[plan.count...].map(\.canonicalName)
            let restarted = plan.restartedKeyFields(becoming: grown).map(\.name)
            let engine = model.map { "\(live) with \($0)" } ?? live
            if added.isEmpty {
                print("reload from \(engine): no new features; no key field's windows restart")
                return
            }
            print("reload from \(engine): \(added.count) new feature\(added.count == 1 ? "" : "s"): \(added.joined(separator: ", "))")
            if restarted.isEmpty {
                print("  no key field's windows restart")
            } else {
                print("  the windows of \(restarted.joined(separator: ", ")) restart: their counts, sums and seconds_since_* see only events after the reload")
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run rule tests (rules/tests/*.yaml) with the in-memory feature store.",
            discussion: "Each case feeds its events in order and compares the last event's decision, reasons, shadow reasons and points. Exit status 1 if any case fails."
        )

        @Argument(help: "The rules file under test.")
        var file: String = "rules/default.rules"

        @Option(help: "Directory of *.yaml test files (default: tests/ next to the rules file).")
        var tests: String?

        @Option(help: "Only run cases whose name contains this text.")
        var filter: String?

        func run() async throws {
            let directory = tests ?? (URL(fileURLWithPath: file).deletingLastPathComponent().path + "/tests")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted() ?? []
            guard !names.isEmpty else {
                printError("no test files (*.yaml) in \(directory)")
                throw ExitCode(1)
            }
            var loaded: [String: RuleSet] = [:]
            var passed = 0, failed = 0
            for name in names {
                let path = directory + "/" + name
                let testFile: RuleTestFile
                do {
                    testFile = try RuleTestFile(path: path, text: String(contentsOfFile: path, encoding: .utf8))
                } catch {
                    printError("\(error)")
                    failed += 1
                    continue
                }
                // A test file may name its own rules file (relative to itself); otherwise FILE.
                let rulesPath = testFile.rules.map { $0.hasPrefix("/") ? $0 : directory + "/" + $0 } ?? file
                let ruleSet: RuleSet
                if let cached = loaded[rulesPath] {
                    ruleSet = cached
                } else {
                    do {
                        ruleSet = try RuleSetLoader(rulesPath: rulesPath).load()
                    } catch {
                        for line in error.lines { printError(line) }
                        throw ExitCode(1)
                    }
                    loaded[rulesPath] = ruleSet
                }
                let runner = RuleTestRunner(ruleSet: ruleSet, makeStore: RulesCommand.makeStore)
                for testCase in testFile.cases where filter.map({ testCase.name.contains($0) }) ?? true {
                    let result = try await runner.run(testCase)
                    if result.passed {
                        passed += 1
                        print("PASS \(name): \(testCase.name)")
                    } else {
                        failed += 1
                        print("FAIL \(name): \(testCase.name)")
                        for difference in result.differences { print("    \(difference)") }
                        let explained = RuleTestRunner.explain(result.verdict)
                        print("    matched:\(explained.isEmpty ? " nothing" : "")")
                        for line in explained { print("      \(line)") }
                    }
                }
            }
            print("\(passed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
            // A mistyped --filter in CI would otherwise pass by running nothing.
            if let filter, passed + failed == 0 {
                printError("Error: --filter '\(filter)' matches no test case; run without it to list every case")
                throw ExitCode(1)
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which rules match an event and why, with the feature values they read.",
            discussion: """
            The event is one JSON object in the wire format (docs/formats.md). --history feeds earlier \
            events (JSON Lines) through the in-memory feature store first, so velocity features see them.
            """
        )

        @Argument(help: "The rules file.")
        var file: String

        @Option(help: "The event as JSON, or @path to read it from a file.")
        var event: String

        @Option(help: "JSON Lines file of earlier events to build the windows from.")
        var history: String?

        @Option(name: .customLong("model-score"), help: "The model's score for the event (default: no model).")
        var modelScore: Double?

        func run() async throws {
            let ruleSet: RuleSet
            do {
                ruleSet = try RuleSetLoader(rulesPath: file).load()
            } catch {
                for line in error.lines { printError(line) }
                throw ExitCode(1)
            }
            let decoder = EventDecoder()
            let text = event.hasPrefix("@") ? try String(contentsOfFile: String(event.dropFirst()), encoding: .utf8) : event
            let target: PaymentEvent
            do {
                target = try decoder.decode(text.trimmingCharacters(in: .whitespacesAndNewlines))
            } catch {
                throw ValidationError("--event: \(error)")
            }
            var events: [PaymentEvent] = []
            if let history {
                let lines = try String(contentsOfFile: history, encoding: .utf8).split(whereSeparator: \.isNewline)
                for (number, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
                    do {
                        events.append(try decoder.decode(String(line)))
                    } catch {
                        throw CommandFailure("\(history):\(number + 1): \(error)")
                    }
                }
            }
            events.append(target)
            var features: [Double] = []
            _ = try await RulesCommand.makeStore(ruleSet.rates).process(events, plan: ruleSet.featurePlan, mode: .update, into: &features)
            let row = Array(features.suffix(ruleSet.featurePlan.count))
            let verdict = ruleSet.evaluate(event: target, features: row, modelScore: modelScore ?? .nan)

            print("rules \(ruleSet.version), event \(target.paymentID) at \(target.occurredAt)\(history.map { " after \(events.count - 1) events from \($0)" } ?? "")")
            print("decision: \(verdict.outcome.rawValue)\(verdict.decidedBy.map { " (by \($0))" } ?? " (nothing matched)"), risk points \(verdict.riskPoints)")
            if verdict.reasons.isEmpty { print("no rule matched") }
            for line in RuleTestRunner.explain(verdict) { print("  \(line)") }
            print("features:")
            for (column, feature) in ruleSet.featurePlan.features.enumerated() {
                print("  \(feature.canonicalName) = \(formatFeature(row[column]))")
            }
        }
    }
}

private func formatFeature(_ value: Double) -> String {
    value.isNaN ? "missing" : value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
}
