import Features
import Foundation
import FraudCore
import Synchronization

/// Keeps the engine's model in step with its file, like the rules watcher does for rules:
/// polls the file's modification time and size, re-reads it when either changes, and swaps in
/// the new model only if it loads and compiles completely. A bad file leaves the last good model
/// live, is reported once (not on every poll), and counts as a reload failure.
///
/// Transport-agnostic: the engine runs `run()` as a service and maps `onEvent` to its metrics
/// (`waqiti_model_reloads_total`, `waqiti_model_reload_failures_total`) and logs.
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

    private struct State {
        var current: CompiledModel
        /// Modification time and size last seen, and the SHA-256 of the bytes last parsed.
        var stamp: FileStamp?
        var bytesHash: String
        var reloads = 0
        var failures = 0
    }

    /// Loads the model once; unlike a reload, a bad file at start-up is an error.
    /// - Parameter basePlan: the plan the rules use; the model's aggregates are appended to it.
    public init(
        path: String, basePlan: FeaturePlan, rates: ExchangeRates = .builtIn, pollInterval: Duration = .seconds(1),
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) throws(ModelFileError) {
        self.path = path
        self.pollInterval = pollInterval
        self.basePlan = basePlan
        self.rates = rates
        self.onEvent = onEvent
        let stamp = FileStamp(path: path)
        let data = try ModelFileDecoder.read(path)
        var plan = basePlan
        let compiled = try CompiledModel(model: ModelFileDecoder.decode(data, file: path), path: path, plan: &plan, rates: rates)
        state = Mutex(State(current: compiled, stamp: stamp, bytesHash: SHA256.hex(data)))
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
                state.withLock {
                    $0.current = compiled
                    $0.reloads += 1
                    $0.stamp = stamp
                    $0.bytesHash = hash
                }
                event = .reloaded(version: compiled.model.version)
            } catch {
                state.withLock {
                    $0.failures += 1
                    $0.stamp = stamp
                    $0.bytesHash = hash
                }
                event = .rejected(error)
            }
        } catch {
            // Unreadable (mid-rename, deleted): counted once per change of stamp.
            state.withLock {
                $0.failures += 1
                $0.stamp = stamp
            }
            event = .rejected(error)
        }
        if let event { onEvent(event) }
        return event
    }

    /// Polls every `pollInterval` until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            poll()
            try? await Task.sleep(for: pollInterval)
        }
    }
}

/// A file's modification time (nanoseconds) and size: cheap to read on every poll.
struct FileStamp: Equatable, Sendable {
    var modified: Int64
    var size: Int64

    /// Nil when the file does not exist or cannot be stat'ed.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        size = Int64(info.st_size)
    }
}
