import CoreMetrics
import Foundation
import FraudCore
import Logging
import Rules
import Synchronization

/// The rule set the engine decides with: the rules watcher's, as long as its exchange rates are
/// the ones the engine started with.
///
/// The feature stores and the model were built with the start-up rates (`amount_usd` in every
/// window, the model's inputs) and cannot take new ones while running: a reload that changed
/// `rates.json` would have the rules convert amounts one way and the features another. Such a
/// reload is refused: the last good set stays live, an error names the rates file and says a
/// restart is needed, and it counts in `waqiti_rules_reload_failures_total`. Each refused content
/// is reported once; putting the start-up rates back makes later rule edits apply again.
public final class EngineRules: Sendable {
    public let watcher: RuleSetWatcher
    /// The file whose change needs a restart (`rates.json` beside the rules file).
    public let ratesFile: String
    private let startRates: ExchangeRates
    private let pollInterval: Duration
    private let logger: Logger
    private let failures: Counter
    private let state: Mutex<State>

    private struct State {
        var live: RuleSet
        /// Content hash of the set last refused, so a refusal is reported once, not every poll.
        var refused: String?
    }

    /// - Parameter metricsFactory: the registry the watcher records in (the refusal counts in
    ///   the watcher's own failure series).
    public init(
        watcher: RuleSetWatcher, rulesFile: String, pollInterval: Duration = .milliseconds(500), logger: Logger,
        metricsFactory: any MetricsFactory
    ) {
        self.watcher = watcher
        ratesFile = URL(fileURLWithPath: rulesFile).deletingLastPathComponent().appendingPathComponent("rates.json").path
        let live = watcher.current
        startRates = live.rates
        self.pollInterval = pollInterval
        self.logger = logger
        failures = Counter(label: "waqiti_rules_reload_failures_total", dimensions: [], factory: metricsFactory)
        state = Mutex(State(live: live))
    }

    /// The live rule set. Take it once per batch.
    public var current: RuleSet { state.withLock { $0.live } }

    /// Polls until the task is cancelled (in place of the watcher's own `run()`).
    public func run() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: pollInterval)
            checkNow()
        }
    }

    /// Lets the watcher check its files, then takes its set unless the rates changed.
    @discardableResult
    public func checkNow() -> RuleSetWatcher.Outcome {
        let outcome = watcher.checkNow()
        let candidate = watcher.current
        let changed = candidate.rates == startRates ? [] : changedCurrencies(candidate.rates)
        let report: Bool = state.withLock { state in
            guard !changed.isEmpty else {
                state.live = candidate
                state.refused = nil
                return false
            }
            defer { state.refused = candidate.contentHash }
            return state.refused != candidate.contentHash
        }
        guard !changed.isEmpty else { return outcome }
        let problem = "\(ratesFile): exchange rates changed (\(changed.joined(separator: ", "))) while running; the feature stores and the model keep the rates they started with, so restart the engine to apply them"
        if report {
            failures.increment()
            logger.error("rules reload refused; keeping the last good rule set", metadata: [
                "rules_version": "\(current.version)", "refused_version": "\(candidate.version)", "error": "\(problem)",
            ])
        }
        return .rejected(errors: [problem])
    }

    /// Currencies whose rate differs from the start-up rates, or that one side lacks.
    private func changedCurrencies(_ rates: ExchangeRates) -> [String] {
        let currencies = Set(rates.usdPerMajorUnit.keys).union(startRates.usdPerMajorUnit.keys)
        return currencies.filter { rates.usdPerMajorUnit[$0] != startRates.usdPerMajorUnit[$0] }.sorted().map(\.description)
    }
}
