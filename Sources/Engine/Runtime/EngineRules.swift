import CoreMetrics
import Foundation
import FraudCore
import Logging
import Rules

/// The rules watcher the engine decides with, refusing reloads that change the exchange rates.
///
/// The feature stores and the model were built with the start-up rates (`amount_usd` in every
/// window, the model's inputs) and cannot take new ones while running: a reload that changed
/// `rates.json` would have the rules convert amounts one way and the features another. So the
/// watcher rejects such a set as it rejects one that does not compile: the last good set stays
/// live, the error names the rates file, lists the changed currencies and says a restart is
/// needed, and `waqiti_rules_reload_failures_total` counts it once (not
/// `waqiti_rules_reloads_total`). Putting the start-up rates back makes later rule edits apply.
public final class EngineRules: Sendable {
    public let watcher: RuleSetWatcher
    /// The file whose change needs a restart (`rates.json` beside the rules file).
    public let ratesFile: String

    public init(
        rulesFile: String, pollInterval: Duration = .milliseconds(500), logger: Logger, metricsFactory: any MetricsFactory
    ) throws(RuleSetLoader.LoadError) {
        let ratesFile = URL(fileURLWithPath: rulesFile).deletingLastPathComponent().appendingPathComponent("rates.json").path
        self.ratesFile = ratesFile
        watcher = try RuleSetWatcher(
            loader: RuleSetLoader(rulesPath: rulesFile), pollInterval: pollInterval, logger: logger, metricsFactory: metricsFactory
        ) { candidate, initial in
            let changed = Self.changedCurrencies(candidate.rates, from: initial.rates)
            guard !changed.isEmpty else { return nil }
            return ["\(ratesFile): exchange rates changed (\(changed.joined(separator: ", "))) while running; the feature stores and the model keep the rates they started with, so restart the engine to apply them"]
        }
    }

    /// The live rule set. Take it once per batch.
    public var current: RuleSet { watcher.current }

    /// Polls until the task is cancelled.
    public func run() async throws { try await watcher.run() }

    /// Checks the files once and reloads if they changed and the rates did not.
    @discardableResult
    public func checkNow() -> RuleSetWatcher.Outcome { watcher.checkNow() }

    /// Currencies whose rate differs between the two, or that one side lacks.
    private static func changedCurrencies(_ rates: ExchangeRates, from start: ExchangeRates) -> [String] {
        guard rates != start else { return [] }
        let currencies = Set(rates.usdPerMajorUnit.keys).union(start.usdPerMajorUnit.keys)
        return currencies.filter { rates.usdPerMajorUnit[$0] != start.usdPerMajorUnit[$0] }.sorted().map(\.description)
    }
}
