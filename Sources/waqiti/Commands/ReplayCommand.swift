import ArgumentParser
import BLAS
import Features
import Foundation
import FraudCore
import Glibc
import Redis
import Replay

/// `waqiti replay`: recorded events through the engine's code path, offline: a backtest with
/// `--rules` (decisions, summary, label metrics, rule-set diff, HTML report), features only without.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Backtest rules and a model on recorded events (JSON Lines, CSV or a Kafka topic), or compute their features.",
        discussion: """
        With --rules every event is decided as `waqiti serve` decides it (same
        windows, rules and model), in input order; the summary gives decisions by
        outcome, rule hits and, for labeled events, precision, recall and caught
        fraud. --compare scores a candidate rule set in the same pass and reports
        the decisions that flip. Without --rules it writes one line of feature
        values per event:
          {"payment_id": "p1", "features": {"count(card_fingerprint,10m)": 3, ...}}
        Malformed lines are reported as file:line: message on stderr and counted;
        the exit status is non-zero if any were found, unless --dead-letters keeps
        them in a file. Docs: docs/replay.md, docs/features.md.
        """
    )

    enum StoreKind: String, ExpressibleByArgument, CaseIterable {
        case memory, redis
    }

    @Option(name: .long, help: "Events to replay: JSON Lines, or CSV when the name ends in .csv; '-' for stdin (JSON Lines).")
    var input: String?

    @Option(name: .long, help: "Comma-separated feature expressions, e.g. 'count(card_fingerprint,10m),sum(amount_usd,account_id,24h)'.")
    var features: String?

    @Option(name: .customLong("features-out"), help: "Where to write one JSON line of feature values per event.")
    var featuresOut: String?

    @Option(name: .long, help: "Feature store: memory (default) or redis.")
    var store: StoreKind = .memory

    @Option(name: .long, help: "Redis URL for --store redis (default: $WAQITI_REDIS_URL).")
    var redis: String?

    @Option(name: .long, help: "How far behind a key's newest event an event may arrive and still count (default 5m).")
    var lateness: String = "5m"

    @Option(name: .customLong("batch-size"), help: "Events per store batch.")
    var batchSize: Int = 512

    @Option(name: .customLong("dead-letters"), help: "Write malformed lines here (JSON Lines with file, line, error, raw) instead of failing.")
    var deadLetters: String?

    /// Decisions, summary, report and rule/model comparison (`--rules`; docs/replay.md).
    @OptionGroup(title: "Backtesting (decisions through the engine)")
    var backtest: BacktestOptions

    func validate() throws {
        if !backtest.isEnabled {
            guard input != nil else { throw ValidationError("give --input FILE (or - for stdin)") }
            guard features != nil, featuresOut != nil else { throw ValidationError("give --features and --features-out, or --rules FILE to backtest decisions") }
        }
        guard EventDuration(parsing: lateness) != nil else {
            throw ValidationError("--lateness '\(lateness)' is not a duration such as 30s, 5m or 1h")
        }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
        if backtest.cache != nil, input == "-" {
            throw ValidationError("--cache cannot be used with --input - (standard input): a cache is checked against the size and modification time of a regular input file")
        }
        let minimumCapacity = EngineReplaySetup.minimumDedupCapacity(batchSize: batchSize)
        if backtest.isEnabled, backtest.dedupCapacity >= 1, backtest.dedupCapacity < minimumCapacity {
            throw ValidationError("--dedup-capacity \(backtest.dedupCapacity) is below twice --batch-size \(batchSize): a redelivery within a batch or two of its first delivery must be remembered however the batches split, or the decisions would depend on --batch-size (give --dedup-capacity \(minimumCapacity) or more, or a smaller --batch-size)")
        }
    }

    func run() async throws {
        let specs: [FeatureSpec]
        do {
            specs = try features.map { try FeatureSpec.parseList($0) } ?? []
        } catch {
            throw ValidationError("--features: \(error)")
        }
        // One OpenBLAS thread, as in serve: a model score is one short dot product per event, and
        // replay spreads its work over its own workers. Without a model too: OpenBLAS's idle
        // pool spins for ~0.1 s of CPU after start-up whether or not it is used.
        BLAS.useCallingThreadOnly()
        if backtest.isEnabled {
            guard store == .memory else { throw ValidationError("--rules replays on the in-memory windows; drop --store redis") }
            let shared = ReplayBacktest.Shared(input: input, features: specs, featuresOut: featuresOut, batchSize: batchSize, lateness: EventDuration(parsing: lateness)!, deadLetters: deadLetters)
            return try await ReplayBacktest.run(backtest, shared)
        }
        let plan = FeaturePlan(specs)
        let featureStore = try makeStore(lateness: EventDuration(parsing: lateness)!)
        let replay = FeatureReplay(plan: plan, store: featureStore, batchSize: batchSize)
        let output = try FileOutput(path: featuresOut!)
        let deadLetterOutput = try deadLetters.map { path throws(FileIOError) in try FileOutput(path: path) }
        let summary = try await replay.run(from: FeatureReplay.reader(for: input!), to: output, deadLetters: deadLetterOutput) { error in
            if deadLetterOutput == nil { printError(error.description) }
        }
        ProcessLifetime.keepUntilExit(featureStore)
        try output.close()
        try deadLetterOutput?.close()
        printError("replayed \(summary.events) events in \(summary.batches) batches: \(summary.duplicates) redelivered, \(summary.tooLate) too late, \(summary.badLines) malformed line(s)")
        if summary.badLines > 0, deadLetterOutput == nil { throw ExitCode(1) }
    }

    private func makeStore(lateness: EventDuration) throws -> any FeatureStore {
        switch store {
        case .memory:
            return InMemoryFeatureStore(lateness: lateness)
        case .redis:
            guard let url = redis ?? ProcessInfoEnvironment.value("WAQITI_REDIS_URL") else {
                throw ValidationError("--store redis needs --redis URL or WAQITI_REDIS_URL")
            }
            return try RedisFeatureStore(configuration: RedisConfiguration(url: url), lateness: lateness)
        }
    }
}

private func printError(_ line: String) {
    var bytes = Array(line.utf8)
    bytes.append(0x0A)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

private enum ProcessInfoEnvironment {
    static func value(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
}
