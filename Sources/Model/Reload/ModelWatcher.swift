import CoreMetrics
import Features
import Foundation
import FraudCore
import Rules
import Synchronization

/// Keeps the engine's model in step with its file, like the rules watcher does for rules:
/// polls the file's modification time, size and inode (the rules watcher's `FileStamp`: a file
/// replaced by rename with the same size within one mtime tick still has a new inode), re-reads it
/// when any changes, and swaps in
/// the new model only if it loads and compiles completely. A bad file leaves the last good model
/// live, is reported once (not on every poll), and counts as a reload failure.
///
/// Transport-agnostic: the engine runs `run()` as a service and maps `onEvent` to its logs. The
/// watcher records its own metrics through swift-metrics, as the rules watcher does:
/// `waqiti_model_reloads_total`, `waqiti_model_reload_failures_total`, and the info gauge
/// `waqiti_model_info{model_version="default@3f2a9c1b4d5e"} 1` for the live model (the previous
/// version's series is set to 0 and destroyed on reload).
public final class ModelWatcher: Sendable {
    /// What one poll found.
    public enum Event: Sendable, Equatable {
        /// A new model is live.
        case reloaded(version: String)
        /// The file changed but cannot be used; the previous model stays live.
        case rejected(ModelFileError)
    }

    public let path: String
    public let pollInterval: Duration
    private let basePlan: FeaturePlan
    private let rates: ExchangeRates
    private let onEvent: @Sendable (Event) -> Void
    private let state: Mutex<State>
    private let metricsFactory: MetricsFactory
    private let reloadCounter: Counter
    private let failureCounter: Counter

    private struct State {
        var current: CompiledModel
        /// Modification time, size and inode last seen, and the SHA-256 of the bytes last parsed.
        var stamp: FileStamp
        var bytesHash: String
        var reloads = 0
        var failures = 0
        /// `waqiti_model_info` of the live version.
        var info: Gauge
    }

    /// Loads the model once; unlike a reload, a bad file at start-up is an error.
    /// - Parameter basePlan: the plan the rules use; the model's aggregates are appended to it.
    public init(
        path: String, basePlan: FeaturePlan, rates: ExchangeRates = .builtIn, pollInterval: Duration = .seconds(1),
        metricsFactory: MetricsFactory = MetricsSystem.factory,
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) throws(ModelFileError) {
        self.path = path
        self.metricsFactory = metricsFactory
        self.reloadCounter = Counter(label: "waqiti_model_reloads_total", dimensions: [], factory: metricsFactory)
        self.failureCounter = Counter(label: "waqiti_model_reload_failures_total", dimensions: [], factory: metricsFactory)
        self.pollInterval = pollInterval
        self.basePlan = basePlan
        self.rates = rates
        self.onEvent = onEvent
        let stamp = FileStamp(path: path)
        let data = try ModelFileDecoder.read(path)
        var plan = basePlan
        let compiled = try CompiledModel(model: ModelFileDecoder.decode(data, file: path), path: path, plan: &plan, rates: rates)
        let info = Self.info(compiled, factory: metricsFactory)
        state = Mutex(State(current: compiled, stamp: stamp, bytesHash: SHA256.hex(data), info: info))
    }

    /// The model to score with now.
    public var current: CompiledModel { state.withLock { $0.current } }
    /// Successful reloads since start (the initial load not counted).
    public var reloads: Int { state.withLock { $0.reloads } }
    /// Changed files that were rejected since start.
    public var reloadFailures: Int { state.withLock { $0.failures } }

    /// Checks the file once; returns what happened, nil when nothing changed.
    @discardableResult
    public func poll() -> Event? {
        let stamp = FileStamp(path: path)
        guard state.withLock({ $0.stamp != stamp }) else { return nil }
        let event: Event?
        do throws(ModelFileError) {
            let data = try ModelFileDecoder.read(path)
            let hash = SHA256.hex(data)
            // Touched or rewritten with the same bytes, or the same bad bytes again: nothing new.
            guard state.withLock({ $0.bytesHash != hash }) else {
                state.withLock { $0.stamp = stamp }
                return nil
            }
            do throws(ModelFileError) {
                var plan = basePlan
                let compiled = try CompiledModel(model: ModelFileDecoder.decode(data, file: path), path: path, plan: &plan, rates: rates)
                let info = Self.info(compiled, factory: metricsFactory)
                let previous = state.withLock { state in
                    state.current = compiled
                    state.reloads += 1
                    state.stamp = stamp
                    state.bytesHash = hash
                    let previous = state.info
                    state.info = info
                    return previous
                }
                // Retraining metadata alone keeps the version, and then both handles are one series.
                if previous.dimensions.first?.1 != info.dimensions.first?.1 {
                    previous.record(0)
                    previous.destroy()
                }
                reloadCounter.increment()
                event = .reloaded(version: compiled.version)
            } catch {
                state.withLock {
                    $0.failures += 1
                    $0.stamp = stamp
                    $0.bytesHash = hash
                }
                failureCounter.increment()
                event = .rejected(error)
            }
        } catch {
            // Unreadable (mid-rename, deleted): counted once per change of stamp.
            state.withLock {
                $0.failures += 1
                $0.stamp = stamp
            }
            failureCounter.increment()
            event = .rejected(error)
        }
        if let event { onEvent(event) }
        return event
    }

    /// The live model's info series, set to 1.
    private static func info(_ compiled: CompiledModel, factory: MetricsFactory) -> Gauge {
        let gauge = Gauge(label: "waqiti_model_info", dimensions: [("model_version", compiled.version)], factory: factory)
        gauge.record(1)
        return gauge
    }

    /// Polls every `pollInterval` until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            poll()
            try? await Task.sleep(for: pollInterval)
        }
    }
}
