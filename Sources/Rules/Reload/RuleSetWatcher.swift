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
/// A file written in place can be seen half-written, and half a rules file may well compile (a cut
/// `risk_points >= 80` is `risk_points >= 8`). So polling loads only once the files' stamps (mtime,
/// size, inode) have stayed the same for one poll interval, stamps each file just before reading
/// it, and drops a load if any file it read changed meanwhile or differs from the stamps that
/// settled. Replacing files by rename (write a temporary file, then `mv`) is still the supported
/// way to update them: a writer that pauses longer than the poll interval mid-file is not
/// detectable.
///
/// A file that does not compile, or a set the owner's `accept` check refuses, is rejected: its
/// errors are logged, `waqiti_rules_reload_failures_total` is incremented, and the last good set
/// stays live. The same bytes are not retried until one of the files the rejected set read
/// changes: those, not the live set's, are watched then, so a list file named only by the new rules
/// is picked up when it appears.
///
/// `run()` has the shape of a swift-service-lifecycle `Service.run()`: it polls until cancelled.
public final class RuleSetWatcher: Sendable {
    /// What one check found.
    public enum Outcome: Sendable, Equatable {
        /// Nothing to load: no change, a change still settling, or a load dropped because a file
        /// changed while it was read (the next poll sees the change again).
        case unchanged
        case reloaded(version: String)
        case rejected(errors: [String])
    }

    private struct State {
        var ruleSet: RuleSet
        /// Stamp of each file the last load read (or found absent), taken just before reading it.
        var stamps: [String: FileStamp]
        /// Stamps the previous poll saw differ from `stamps`: a change waiting one interval to settle.
        var pending: [String: FileStamp]?
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
    private let whileReading: (@Sendable (String) -> Void)?

    /// Loads the initial set; a broken initial file is an error (there is no last good set yet).
    ///
    /// - Parameter accept: a reloaded set's last check, against the set loaded at start: nil
    ///   takes it, errors reject it as a compile error would (the engine refuses new exchange
    ///   rates, which its feature stores cannot take while running).
    public convenience init(
        loader: RuleSetLoader, pollInterval: Duration = .milliseconds(500),
        logger: Logger = Logger(label: "waqiti.rules"), metricsFactory: MetricsFactory = MetricsSystem.factory,
        accept: @escaping @Sendable (_ candidate: RuleSet, _ initial: RuleSet) -> [String]? = { _, _ in nil }
    ) throws(RuleSetLoader.LoadError) {
        try self.init(loader: loader, pollInterval: pollInterval, logger: logger, metricsFactory: metricsFactory, accept: accept, whileReading: nil)
    }

    /// - Parameter whileReading: a test seam, called with each file's path after it is stamped and
    ///   before it is read (a test writes to the files there, as a concurrent deploy would).
    init(
        loader: RuleSetLoader, pollInterval: Duration, logger: Logger, metricsFactory: MetricsFactory,
        accept: @escaping @Sendable (_ candidate: RuleSet, _ initial: RuleSet) -> [String]?,
        whileReading: (@Sendable (String) -> Void)?
    ) throws(RuleSetLoader.LoadError) {
        self.whileReading = whileReading
        self.loader = loader
        self.accept = accept
        self.pollInterval = pollInterval
        self.logger = logger
        self.reloads = Counter(label: "waqiti_rules_reloads_total", dimensions: [], factory: metricsFactory)
        self.failures = Counter(label: "waqiti_rules_reload_failures_total", dimensions: [], factory: metricsFactory)
        // Stamped before reading: a write during or after this load is seen by the first poll.
        let attempt = RuleSetWatcher.attempt(loader, whileReading)
        let ruleSet = try attempt.result.get()
        self.initial = ruleSet
        self.state = Mutex(State(ruleSet: ruleSet, stamps: attempt.stamps))
        logger.info("rules loaded", metadata: ["rules_version": "\(ruleSet.version)", "rules": "\(ruleSet.ruleNames.count)"])
    }

    /// The live rule set. Take it once per batch.
    public var current: RuleSet { state.withLock { $0.ruleSet } }

    /// Polls until the task is cancelled.
    public func run() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: pollInterval)
            _ = poll()
        }
    }

    /// Checks the files once and reloads at once if they changed (an explicit check, by an
    /// operator or a test, after the files were written). A load during which a file changed is
    /// still dropped.
    @discardableResult
    public func checkNow() -> Outcome { check(settle: false) }

    /// One polling step: reloads only a change whose stamps are the same as at the previous poll.
    @discardableResult
    func poll() -> Outcome { check(settle: true) }

    private func check(settle: Bool) -> Outcome {
        let (old, known, pending) = state.withLock { ($0.ruleSet, $0.stamps, $0.pending) }
        let now = RuleSetWatcher.stamps(Array(known.keys))
        guard now != known else {
            if pending != nil { state.withLock { $0.pending = nil } }
            return .unchanged
        }
        // Files named only by the candidate that a previous poll read are watched for settling too.
        var seen = now
        for file in (pending ?? [:]).keys where seen[file] == nil { seen[file] = FileStamp(path: file) }
        if settle, pending != seen {
            state.withLock { $0.pending = seen }
            return .unchanged
        }
        let attempt = RuleSetWatcher.attempt(loader, whileReading)
        if let file = attempt.stamps.first(where: { FileStamp(path: $0.key) != $0.value })?.key {
            state.withLock { $0.pending = nil }
            logger.debug("rules file changed while it was read; reloading once it settles", metadata: ["file": "\(file)"])
            return .unchanged
        }
        if settle, attempt.stamps.contains(where: { seen[$0.key] != $0.value }) {
            // Read a file whose stamp has not settled yet (a list the new rules name): one more interval.
            state.withLock { $0.pending = seen.merging(attempt.stamps) { _, read in read } }
            return .unchanged
        }
        let outcome: Outcome
        let loaded: RuleSet?
        switch attempt.result {
        case .success(let ruleSet):
            loaded = ruleSet
            if ruleSet.contentHash == old.contentHash {
                outcome = .unchanged
            } else if let errors = accept(ruleSet, initial) {
                outcome = .rejected(errors: errors)
            } else {
                outcome = .reloaded(version: ruleSet.version)
            }
        case .failure(let error):
            loaded = nil
            outcome = .rejected(errors: error.lines)
        }
        state.withLock { state in
            state.stamps = attempt.stamps
            state.pending = nil
            if let loaded, case .reloaded = outcome { state.ruleSet = loaded }
        }
        switch outcome {
        case .unchanged:
            break
        case .reloaded(let version):
            reloads.increment()
            // Adding an aggregate restarts its key field's windows (docs/features.md, "Plan changes"): say which.
            let restarted = loaded?.restartedKeyFields(replacing: old) ?? []
            var metadata: Logger.Metadata = ["rules_version": "\(version)", "previous_version": "\(old.version)"]
            if restarted.isEmpty {
                logger.info("rules reloaded", metadata: metadata)
            } else {
                metadata["windows_restarted"] = .array(restarted.map { .string($0) })
                logger.notice("rules reloaded; the windows of \(restarted.joined(separator: ", ")) restart (new aggregates change their layout)", metadata: metadata)
            }
        case .rejected(let errors):
            failures.increment()
            logger.error("rules reload rejected; keeping the last good rule set", metadata: [
                "rules_version": "\(old.version)", "errors": .array(errors.map { .string($0) }),
            ])
        }
        return outcome
    }

    /// One load, with the stamp of every file it read taken just before reading it, plus the
    /// default `rates.json` beside the rules file (watched even before it exists).
    private struct Attempt {
        var result: Result<RuleSet, RuleSetLoader.LoadError>
        var stamps: [String: FileStamp]
    }

    private final class StampRecorder: Sendable {
        let stamps = Mutex<[String: FileStamp]>([:])

        func record(_ path: String) {
            stamps.withLock { stamps in
                if stamps[path] == nil { stamps[path] = FileStamp(path: path) }
            }
        }
    }

    private static func attempt(_ loader: RuleSetLoader, _ whileReading: (@Sendable (String) -> Void)?) -> Attempt {
        let defaultRates = loader.defaultRatesPath
        let ratesStamp = FileStamp(path: defaultRates)
        let recorder = StampRecorder()
        let result: Result<RuleSet, RuleSetLoader.LoadError>
        do {
            result = .success(try loader.load(beforeReading: { path in
                recorder.record(path)
                whileReading?(path)
            }))
        } catch {
            result = .failure(error)
        }
        var stamps = recorder.stamps.withLock { $0 }
        if stamps[defaultRates] == nil { stamps[defaultRates] = ratesStamp }
        return Attempt(result: result, stamps: stamps)
    }

    private static func stamps(_ files: [String]) -> [String: FileStamp] {
        var out: [String: FileStamp] = [:]
        for file in files { out[file] = FileStamp(path: file) }
        return out
    }
}

/// Modification time (ns), size and inode of a file; `.absent` when it does not exist. Replacing a
/// file by rename (how editors and deploy tools save) changes the inode even within one mtime tick.
/// Shared with the model watcher (package visibility).
package enum FileStamp: Hashable, Sendable {
    case absent
    case present(mtimeNanoseconds: Int64, size: Int64, inode: UInt64)

    package init(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            self = .absent
            return
        }
        let nanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        self = .present(mtimeNanoseconds: nanoseconds, size: Int64(info.st_size), inode: UInt64(info.st_ino))
    }
}
