import CoreMetrics
import FraudCore
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hot reload: polls the rules file, its list files and the rates file; on a change it loads,
/// checks and compiles the new set on the watcher's task (never on the scoring path) and swaps it
/// in atomically. Batches that already took `current` finish on the set they took.
///
/// A file that does not compile, or a set the owner's `accept` check refuses, is rejected: its
/// errors are logged, `waqiti_rules_reload_failures_total` is incremented, and the last good set
/// stays live. The same bytes are not retried until they change again.
///
/// `run()` has the shape of a swift-service-lifecycle `Service.run()`: it polls until cancelled.
public final class RuleSetWatcher: Sendable {
    /// What one check found.
    public enum Outcome: Sendable, Equatable {
        case unchanged
        case reloaded(version: String)
        case rejected(errors: [String])
    }

    private struct State {
        var ruleSet: RuleSet
        /// Stat fingerprint of each watched file at the last check.
        var stamps: [String: FileStamp]
    }

    private let loader: RuleSetLoader
    private let state: Mutex<State>
    private let pollInterval: Duration
    private let logger: Logger
    private let reloads: Counter
    private let failures: Counter
    /// The set loaded at start, for `accept`.
    private let initial: RuleSet
    private let accept: @Sendable (_ candidate: RuleSet, _ initial: RuleSet) -> [String]?

    /// Loads the initial set; a broken initial file is an error (there is no last good set yet).
    ///
    /// - Parameter accept: a reloaded set's last check, against the set loaded at start: nil
    ///   takes it, errors reject it as a compile error would (the engine refuses new exchange
    ///   rates, which its feature stores cannot take while running).
    public init(
        loader: RuleSetLoader, pollInterval: Duration = .milliseconds(500),
        logger: Logger = Logger(label: "waqiti.rules"), metricsFactory: MetricsFactory = MetricsSystem.factory,
        accept: @escaping @Sendable (_ candidate: RuleSet, _ initial: RuleSet) -> [String]? = { _, _ in nil }
    ) throws(RuleSetLoader.LoadError) {
        self.loader = loader
        self.accept = accept
        self.pollInterval = pollInterval
        self.logger = logger
        self.reloads = Counter(label: "waqiti_rules_reloads_total", dimensions: [], factory: metricsFactory)
        self.failures = Counter(label: "waqiti_rules_reload_failures_total", dimensions: [], factory: metricsFactory)
        let ruleSet = try loader.load()
        self.initial = ruleSet
        self.state = Mutex(State(ruleSet: ruleSet, stamps: RuleSetWatcher.stamps(RuleSetWatcher.watchedFiles(loader)(ruleSet))))
        logger.info("rules loaded", metadata: ["rules_version": "\(ruleSet.version)", "rules": "\(ruleSet.ruleNames.count)"])
    }

    /// The live rule set. Take it once per batch.
    public var current: RuleSet { state.withLock { $0.ruleSet } }

    /// Polls until the task is cancelled.
    public func run() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: pollInterval)
            _ = checkNow()
        }
    }

    /// Checks the files once and reloads if they changed.
    @discardableResult
    public func checkNow() -> Outcome {
        let (old, previous) = state.withLock { ($0.ruleSet, $0.stamps) }
        let watched = RuleSetWatcher.watchedFiles(loader)
        let before = RuleSetWatcher.stamps(watched(old))
        guard before != previous else { return .unchanged }
        let outcome: Outcome
        let loaded: RuleSet?
        do {
            let ruleSet = try loader.load()
            loaded = ruleSet
            if ruleSet.contentHash == old.contentHash {
                outcome = .unchanged
            } else if let errors = accept(ruleSet, initial) {
                outcome = .rejected(errors: errors)
            } else {
                outcome = .reloaded(version: ruleSet.version)
            }
        } catch {
            loaded = nil
            outcome = .rejected(errors: error.lines)
        }
        // Keep the stamps taken before the load: a write racing with the load shows up as a change
        // on the next check (and reloads if the bytes differ) instead of being missed.
        var after = RuleSetWatcher.stamps(watched(loaded ?? old))
        for (file, stamp) in before where after[file] != nil { after[file] = stamp }
        state.withLock { state in
            state.stamps = after
            if let loaded, case .reloaded = outcome { state.ruleSet = loaded }
        }
        switch outcome {
        case .unchanged:
            break
        case .reloaded(let version):
            reloads.increment()
            logger.info("rules reloaded", metadata: ["rules_version": "\(version)", "previous_version": "\(old.version)"])
        case .rejected(let errors):
            failures.increment()
            logger.error("rules reload rejected; keeping the last good rule set", metadata: [
                "rules_version": "\(old.version)", "errors": .array(errors.map { .string($0) }),
            ])
        }
        return outcome
    }

    /// The files a set depends on, plus `rates.json` beside the rules file even before it exists.
    private static func watchedFiles(_ loader: RuleSetLoader) -> (RuleSet?) -> [String] {
        let defaultRates = loader.ratesPath ?? (loader.directory.isEmpty ? "rates.json" : loader.directory + "/rates.json")
        return { ruleSet in
            var files = ruleSet?.sourceFiles ?? [loader.rulesPath]
            if !files.contains(defaultRates) { files.append(defaultRates) }
            return files
        }
    }

    private static func stamps(_ files: [String]) -> [String: FileStamp] {
        var out: [String: FileStamp] = [:]
        for file in files { out[file] = FileStamp(path: file) }
        return out
    }
}

/// Modification time (ns), size and inode of a file; `.absent` when it does not exist. Replacing a
/// file by rename (how editors and deploy tools save) changes the inode even within one mtime tick.
enum FileStamp: Hashable, Sendable {
    case absent
    case present(mtimeNanoseconds: Int64, size: Int64, inode: UInt64)

    init(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            self = .absent
            return
        }
        let nanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        self = .present(mtimeNanoseconds: nanoseconds, size: Int64(info.st_size), inode: UInt64(info.st_ino))
    }
}
