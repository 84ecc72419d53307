import ArgumentParser
import BLAS
import Features
import Foundation
import FraudCore
import Glibc
import Redis
import Replay
import Rules

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
        so is, with --rules, a record giving a payment_id already decided to
        another payment (it gets no decision, as `waqiti serve` dead-letters it).
        The exit status is non-zero if any were found, unless --dead-letters keeps
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

    @Option(name: .customLong("features-out"), help: "Where to write one JSON line of feature values per event (with --rules: per event decided anew; a redelivery answered from the decision cache has no line).")
    var featuresOut: String?

    @Option(name: .long, help: "Feature store: memory (default) or redis.")
    var store: StoreKind = .memory

    @Option(name: .long, help: "Redis URL for --store redis (default: $WAQITI_REDIS_URL).")
    var redis: String?

    @Option(name: .long, help: "How far behind a key's newest event an event may arrive and still count (default 5m).")
    var lateness: String = "5m"

    @Option(name: .customLong("batch-size"), help: "Events per store batch (1 to 1048576).")
    var batchSize: Int = 512

    @Option(name: .customLong("dead-letters"), help: "Write malformed lines (and, with --rules, records reusing a decided payment_id) here, as JSON Lines with file, line, kind, error, raw, instead of failing.")
    var deadLetters: String?

    /// Decisions, summary, report and rule/model comparison (`--rules`; docs/replay.md).
    @OptionGroup(title: "Backtesting (decisions through the engine)")
    var backtest: BacktestOptions

    /// The largest `--batch-size`: a batch's events, feature values and decisions are held at
    /// once, and beyond about a million events a batch gains nothing (`--batch-size 100000000`
    /// tried to allocate 20.8 GB before reading its one event).
    static let maximumBatchSize = 1 << 20

    func validate() throws {
        if !backtest.isEnabled {
            guard input != nil else { throw ValidationError("give --input FILE (or - for stdin)") }
            guard features != nil, featuresOut != nil else { throw ValidationError("give --features and --features-out, or --rules FILE to backtest decisions") }
        }
        guard EventDuration(parsing: lateness) != nil else {
            throw ValidationError("--lateness '\(lateness)' is not a duration such as 30s, 5m or 1h")
        }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
        guard batchSize <= Self.maximumBatchSize else {
            throw ValidationError("--batch-size \(batchSize) is above the largest batch, \(Self.maximumBatchSize) events: a batch is held in memory at once; give \(Self.maximumBatchSize) or less")
        }
        if backtest.cache != nil, input == "-" {
            throw ValidationError("--cache cannot be used with --input - (standard input): a cache is checked against the size and modification time of a regular input file")
        }
        let minimumCapacity = EngineReplaySetup.minimumDedupCapacity(batchSize: batchSize)
        if backtest.isEnabled, backtest.dedupCapacity >= 1, backtest.dedupCapacity < minimumCapacity {
            throw ValidationError("--dedup-capacity \(backtest.dedupCapacity) is below twice --batch-size \(batchSize): a redelivery within a batch or two of its first delivery must be remembered however the batches split, or the decisions would depend on --batch-size (give --dedup-capacity \(minimumCapacity) or more, or a smaller --batch-size)")
        }
        _ = try featureSpecs()
        try validateSources()
        try files().check()
    }

    /// `--features` parsed; a mistake in it is a usage error of the replay (checked in validate(),
    /// where the replay's own usage is printed; from run() the top-level usage was).
    private func featureSpecs() throws(ValidationError) -> [FeatureSpec] {
        do {
            return try features.map { try FeatureSpec.parseList($0) } ?? []
        } catch {
            throw ValidationError("--features: \(error)")
        }
    }

    /// One source, options only where they apply, and what `run()` would otherwise find missing
    /// only after it started (and report with the top-level usage instead of the replay's).
    private func validateSources() throws {
        if backtest.kafkaTopic == nil {
            let kafkaOnly: [(String, String?)] = [
                ("--kafka-brokers", backtest.kafkaBrokers), ("--kafka-partitions", backtest.kafkaPartitions),
                ("--kafka-from", backtest.kafkaFrom), ("--kafka-to", backtest.kafkaTo),
            ]
            if let (option, _) = kafkaOnly.first(where: { $0.1 != nil }) {
                throw ValidationError("\(option) applies to a Kafka replay and would be ignored: give --kafka-topic T to replay a topic, or drop \(option)")
            }
        }
        if store == .memory, redis != nil { throw ValidationError("--redis applies to --store redis and would be ignored: give --store redis, or drop --redis") }
        if backtest.isEnabled {
            guard store == .memory else { throw ValidationError("--rules replays on the in-memory windows; drop --store redis") }
            if input != nil, let topic = backtest.kafkaTopic {
                throw ValidationError("--input \"\(input!)\" and --kafka-topic \(topic) are two sources and a replay reads one; drop one of them")
            }
            guard input != nil || backtest.kafkaTopic != nil else { throw ValidationError("give --input FILE (or - for stdin) or --kafka-topic T") }
            if features != nil, featuresOut == nil {
                throw ValidationError("--features needs --features-out FILE (where the feature rows go) and would be ignored: give --features-out, or drop --features")
            }
            if backtest.kafkaTopic != nil {
                guard backtest.kafkaBrokers ?? ProcessInfoEnvironment.value("WAQITI_KAFKA_BROKERS") != nil else {
                    throw ValidationError("--kafka-topic needs --kafka-brokers H:P or WAQITI_KAFKA_BROKERS")
                }
                _ = try backtest.partitionList()
            }
        } else if store == .redis, redis ?? ProcessInfoEnvironment.value("WAQITI_REDIS_URL") == nil {
            throw ValidationError("--store redis needs --redis URL or WAQITI_REDIS_URL")
        }
    }

    /// What this replay reads and writes, in the order the options are listed in --help.
    private func files() -> ReplayFiles {
        var files = ReplayFiles()
        files.read("--input", input)
        files.read("--rules", backtest.rules)
        files.readRuleSetFiles(of: "--rules", backtest.rules)
        files.read("--model", backtest.model)
        files.read("--compare", backtest.compare)
        files.readRuleSetFiles(of: "--compare", backtest.compare)
        files.read("--compare-model", backtest.compareModel)
        if let cache = backtest.cache {
            // An existing cache is read; a missing one is written (to a temporary file of its own,
            // created exclusively, so it can never be another file the replay uses).
            if access(cache, F_OK) == 0 {
                files.read("--cache", cache)
            } else {
                files.write("--cache", cache)
            }
        }
        files.write("--features-out", featuresOut)
        files.write("--dead-letters", deadLetters)
        files.write("--decisions-out", backtest.decisionsOut)
        files.write("--compare-decisions-out", backtest.compareDecisionsOut)
        files.write("--summary-json", backtest.summaryJSON)
        files.write("--report", backtest.report)
        return files
    }

    func run() async throws {
        InterruptCleanup.install(command: "waqiti replay")
        let specs = try featureSpecs()
        // One OpenBLAS thread, as in serve: a model score is one short dot product per event, and
        // replay spreads its work over its own workers. Without a model too: OpenBLAS's idle
        // pool spins for ~0.1 s of CPU after start-up whether or not it is used.
        BLAS.useCallingThreadOnly()
        if backtest.isEnabled {
            let shared = ReplayBacktest.Shared(input: input, features: specs, featuresOut: featuresOut, batchSize: batchSize, lateness: EventDuration(parsing: lateness)!, deadLetters: deadLetters)
            return try await ReplayBacktest.run(backtest, shared)
        }
        let plan = FeaturePlan(specs)
        let featureStore = try makeStore(lateness: EventDuration(parsing: lateness)!)
        let replay = FeatureReplay(plan: plan, store: featureStore, batchSize: batchSize)
        // Written beside their targets and renamed into place at the end: a failed replay leaves
        // the previous files as they were.
        let output = try FileOutput(path: featuresOut!, replacingAtomically: true)
        let deadLetterOutput = try deadLetters.map { path throws(FileIOError) in try FileOutput(path: path, replacingAtomically: true) }
        let summary: FeatureReplay.Summary
        do {
            summary = try await replay.run(from: FeatureReplay.reader(for: input!), to: output, deadLetters: deadLetterOutput) { error in
                if deadLetterOutput == nil { printError(error.description) }
            }
        } catch {
            output.discard()
            deadLetterOutput?.discard()
            throw error
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

enum ProcessInfoEnvironment {
    /// An empty variable counts as unset.
    static func value(_ name: String) -> String? { getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
}
