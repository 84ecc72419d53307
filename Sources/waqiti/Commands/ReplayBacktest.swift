import ArgumentParser
import Engine
import Features
import FraudCore
import Glibc
import Kafka
import Replay
import Reporting

/// The decision side of `waqiti replay` (backtesting): used when `--rules` is given.
struct BacktestOptions: ParsableArguments {
    @Option(name: .long, help: "Rules file to decide with (as `waqiti serve` loads it); turns on decisions, summary and report.")
    var rules: String?

    @Option(name: .long, help: "Model file scored alongside the rules.")
    var model: String?

    @Option(name: .long, help: "Candidate rules file: every event is decided under both in one pass and the changes reported.")
    var compare: String?

    @Option(name: .customLong("compare-model"), help: "Candidate model file (default: the baseline's --model, if any).")
    var compareModel: String?

    @Option(name: .customLong("decisions-out"), help: "Baseline decisions, one JSON line per event in input order (decided_at = event time, latency_us = 0).")
    var decisionsOut: String?

    @Option(name: .customLong("compare-decisions-out"), help: "Candidate decisions, with --compare or --compare-model.")
    var compareDecisionsOut: String?

    @Option(name: .customLong("summary-json"), help: "Write the summary (and the comparison) as JSON here.")
    var summaryJSON: String?

    @Option(name: .long, help: "Write a self-contained HTML report here (charts, tables, the diff when comparing).")
    var report: String?

    @Option(name: .long, help: "Example payment ids kept per flip in the diff.")
    var examples: Int = 5

    @Option(name: .customLong("dedup-capacity"), help: "Payment ids the engine remembers to answer redelivered events with their first decision; at least twice --batch-size, at most 16777216.")
    var dedupCapacity: Int = 1 << 18

    @Flag(name: .long, help: "No progress bar even on a terminal.")
    var quiet = false

    @Option(name: .long, help: "Threads: 1 decides on one thread; N > 1 decodes a JSON Lines --input on N - 1 more threads ahead of the engine, applies each batch to the in-memory windows' shards on N threads, and scores and writes each batch while the next one's features are computed (same decisions, byte for byte). At most 64.")
    var workers: Int = 1

    @Option(name: .long, help: "Pre-decoded cache of --input: read from it when it exists and matches the input (size and modification time), else written during this replay. Same decisions, byte for byte.")
    var cache: String?

    @Option(name: .customLong("kafka-topic"), help: "Replay this Kafka topic instead of --input (assign mode: no consumer group is joined).")
    var kafkaTopic: String?

    @Option(name: .customLong("kafka-brokers"), help: "Brokers, host:port[,host:port] (default: $WAQITI_KAFKA_BROKERS).")
    var kafkaBrokers: String?

    @Option(name: .customLong("kafka-partitions"), help: "Comma-separated partitions (default: all).")
    var kafkaPartitions: String?

    @Option(name: .customLong("kafka-from"), help: "Start: an offset (every partition) or an RFC 3339 broker time (default: the first retained record).")
    var kafkaFrom: String?

    @Option(name: .customLong("kafka-to"), help: "End, exclusive: an offset or an RFC 3339 broker time (default: each partition's end as the broker reports it when the replay reaches it).")
    var kafkaTo: String?

    /// The most payment ids remembered: each holds a whole decision (a few hundred bytes), so
    /// 2^24 is already gigabytes; the cache's own limit (2^31) stopped the process on a precondition.
    static let maximumDedupCapacity = 1 << 24
    /// More threads than this only contend: the work per batch is split into this many parts.
    static let maximumWorkers = 64

    var isEnabled: Bool { rules != nil }
    var isComparing: Bool { compare != nil || compareModel != nil }

    func validate() throws {
        if !isEnabled {
            let decisionOnly: [(String, Bool)] = [
                ("--model", model != nil), ("--compare", compare != nil), ("--compare-model", compareModel != nil),
                ("--decisions-out", decisionsOut != nil), ("--summary-json", summaryJSON != nil), ("--report", report != nil),
                ("--kafka-topic", kafkaTopic != nil), ("--cache", cache != nil),
            ]
            if let used = decisionOnly.first(where: \.1) { throw ValidationError("\(used.0) needs --rules FILE (the rules to decide with)") }
            return
        }
        if compareDecisionsOut != nil, !isComparing { throw ValidationError("--compare-decisions-out needs --compare or --compare-model") }
        guard examples >= 0 else { throw ValidationError("--examples must be 0 or more") }
        guard dedupCapacity > 0 else { throw ValidationError("--dedup-capacity must be at least 1") }
        guard dedupCapacity <= Self.maximumDedupCapacity else {
            throw ValidationError("--dedup-capacity \(dedupCapacity) is above the most payment ids remembered, \(Self.maximumDedupCapacity) (each keeps a whole decision in memory); give \(Self.maximumDedupCapacity) or less")
        }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        guard workers <= Self.maximumWorkers else { throw ValidationError("--workers \(workers) is above \(Self.maximumWorkers); give \(Self.maximumWorkers) or less (2 to 4 is where the replay gains)") }
        if cache != nil, kafkaTopic != nil { throw ValidationError("--cache stands for an --input file; a Kafka replay reads the topic") }
        for (name, value) in [("--kafka-from", kafkaFrom), ("--kafka-to", kafkaTo)] {
            if let value, Self.bound(value) == nil { throw ValidationError("\(name) '\(value)' is neither an offset nor an RFC 3339 time such as 2026-11-01T00:00:00Z") }
        }
        do {
            try KafkaReplaySource.checkBounds(from: Self.bound(kafkaFrom)!, to: Self.bound(kafkaTo)!)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// `--kafka-partitions` as numbers: nil for every partition; an empty or repeated entry is refused.
    func partitionList() throws(ValidationError) -> [Int32]? {
        guard let list = kafkaPartitions else { return nil }
        var partitions: [Int32] = []
        for text in list.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = text.filter { $0 != " " }
            guard let partition = Int32(trimmed), partition >= 0 else {
                if list.allSatisfy({ $0 == " " || $0 == "," }) {
                    throw ValidationError("--kafka-partitions '\(list)' names no partition; give partition numbers such as 0,1,2, or drop --kafka-partitions to replay every partition")
                }
                throw ValidationError("--kafka-partitions: '\(text)' is not a partition number (give numbers such as 0,1,2)")
            }
            guard !partitions.contains(partition) else { throw ValidationError("--kafka-partitions names partition \(partition) twice; name each once") }
            partitions.append(partition)
        }
        return partitions
    }

    static func bound(_ text: String?) -> KafkaReplayBound? {
        guard let text else { return .edge }
        if let offset = Int64(text), offset >= 0 { return .offset(offset) }
        return RFC3339.parse(text).map(KafkaReplayBound.time)
    }
}

/// Runs a backtest: the replay loop over the engine, then the outputs.
enum ReplayBacktest {
    struct Shared {
        var input: String?
        var features: [FeatureSpec]
        var featuresOut: String?
        var batchSize: Int
        var lateness: EventDuration
        var deadLetters: String?
    }

    static func run(_ options: BacktestOptions, _ shared: Shared) async throws {
        let baseline = try load(rules: options.rules!, model: options.model)
        let candidate = options.isComparing ? try load(rules: options.compare ?? options.rules!, model: options.compareModel ?? options.model) : nil
        var setup = EngineReplaySetup(baseline: baseline, candidate: candidate, extraFeatures: shared.features, lateness: shared.lateness, dedupCapacity: options.dedupCapacity)
        setup.storeParallelism = options.workers

        // Every output is created before the first event (a bad path used to fail only after the
        // whole replay), each beside its target and renamed into place once everything is written.
        var outputs: [FileOutput] = []
        func create(_ path: String?) throws -> FileOutput? {
            guard let path else { return nil }
            let output = try FileOutput(path: path, replacingAtomically: true)
            outputs.append(output)
            return output
        }
        do {
            let featureWriter = try create(shared.featuresOut).map { FeatureRowWriter(output: $0, plan: shared.features.isEmpty ? setup.unionPlan : FeaturePlan(shared.features)) }
            let decisionsOut = try create(options.decisionsOut)
            let candidateOut = try create(options.compareDecisionsOut)
            let deadLetters = try create(shared.deadLetters)
            let summaryOut = try create(options.summaryJSON)
            let reportOut = try create(options.report)
            var (replay, _) = setup.make(onFeatures: { events, plan, values in try featureWriter?.write(events, values, width: plan.count) })
            replay.batchSize = shared.batchSize
            replay.maxExamples = options.examples
            replay.overlapsBatches = options.workers > 1

            let source = try InputSource(options: options, input: shared.input)
            let bar = ProgressBar(enabled: !options.quiet && isatty(2) != 0)
            let result = try await replay.run(
                from: source.next, decisionsOut: decisionsOut, candidateDecisionsOut: candidateOut, inputBytes: source.bytes,
                onBadLine: { error in
                    if let deadLetters {
                        try deadLetters.append { FeatureReplay.appendDeadLetter(error, to: &$0) }
                    } else {
                        bar.clear()
                        printError(error.description)
                    }
                },
                onReusedPaymentID: { record in
                    let file = source.origin(record.partition)
                    if let deadLetters {
                        try deadLetters.append {
                            FeatureReplay.appendDeadLetter(file: file, line: record.line, kind: StreamingPipeline.reusedPaymentIDKind,
                                                           error: record.explanation, raw: String(decoding: EventEncoder().encode(record.event), as: UTF8.self), to: &$0)
                        }
                    } else {
                        bar.clear()
                        printError("\(file):\(record.line): \(record.explanation)")
                    }
                },
                progress: bar.show
            )
            ProcessLifetime.keepUntilExit(replay)
            bar.finish()
            // An output on standard output (`-`) ends before the summary that follows it there.
            for output in outputs { try output.flush() }

            if let comparison = result.comparison {
                print(SummaryText.render(comparison), terminator: "")
            } else {
                print(SummaryText.render(result.baseline.summary), terminator: "")
            }
            // Decisions made on windows that left late events out differ from an ordered replay's.
            if let warning = SummaryText.tooLateWarning(result.baseline.summary, lateness: shared.lateness.description) { printError(warning) }
            if let summaryOut {
                try summaryOut.write(try result.comparison.map { try SummaryJSON.encode($0) } ?? SummaryJSON.encode(result.baseline.summary))
            }
            if let reportOut {
                let html = ReplayReport(run: result.baseline, candidate: result.candidate, diff: result.diff, source: source.description).html()
                try reportOut.write(Array(html.utf8))
            }
            for output in outputs { try output.close() }
            // Records that were not decided (malformed, or a payment_id reused) and were only
            // printed: the run did not account for its whole input.
            let undecided = result.baseline.summary.rejected + result.baseline.summary.reusedPaymentIDs
            if undecided > 0, deadLetters == nil { throw ExitCode(1) }
        } catch {
            // Nothing of a failed replay replaces an existing file (closed outputs ignore this).
            for output in outputs { output.discard() }
            throw error
        }
    }

    private static func load(rules: String, model: String?) throws -> ReplayScoring {
        do {
            return try ReplayScoring.load(rulesPath: rules, modelPath: model)
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

/// Events from a file, stdin or a Kafka range, with progress in bytes when known.
private final class InputSource: CustomStringConvertible {
    let next: DecisionReplay.NextBatch
    let bytes: () -> (read: Int, total: Int)?
    let description: String
    /// The name a record's report gives its source (as `EventLineError.file` does): the file,
    /// or `topic[partition]`.
    let origin: (_ partition: Int32?) -> String

    init(options: BacktestOptions, input: String?) throws {
        if let topic = options.kafkaTopic {
            // Both checked by ReplayCommand.validate().
            let brokers = options.kafkaBrokers ?? ProcessInfoEnvironment.value("WAQITI_KAFKA_BROKERS")!
            let partitions = try options.partitionList()
            let source = try KafkaReplaySource(options: .init(
                client: KafkaClientConfiguration(brokers: brokers, clientID: "waqiti-replay"), topic: topic, partitions: partitions,
                from: BacktestOptions.bound(options.kafkaFrom)!, to: BacktestOptions.bound(options.kafkaTo)!))
            next = { max in try source.nextBatch(maxEvents: max) }
            bytes = { nil }
            origin = { partition in "\(topic)[\(partition.map(String.init) ?? "?")]" }
            description = "Kafka \(topic) from \(options.kafkaFrom ?? "the first record") to \(options.kafkaTo ?? "the end")"
            return
        }
        let input = input!  // ReplayCommand.validate() requires --input or --kafka-topic.
        if let cache = options.cache {
            // A regular file (validate() refuses --cache with stdin), named as the cache reader's errors name it.
            origin = { _ in input }
            let source: CachedEventSource
            do {
                source = try CachedEventSource(input: input, cache: cache) {
                    let decoding = try Self.decoding(input, workers: options.workers)
                    return (decoding.next, decoding.bytesRead)
                }
            } catch let error as EventCacheError {
                throw CommandFailure(error.description)
            }
            next = { max in try source.nextBatch(maxEvents: max) }
            let total = source.totalBytes(input: input)
            bytes = { total.map { (source.bytesRead, $0) } }
            description = source.mode == .reading ? "\(input) (from the cache \(cache))" : input
            return
        }
        let decoding = try Self.decoding(input, workers: options.workers)
        next = decoding.next
        origin = { _ in decoding.name }
        let total = Self.size(of: input)
        bytes = { total.map { (decoding.bytesRead(), $0) } }
        description = input == "-" ? "standard input" : input
    }

    /// The reader a file (or stdin) is decoded with: CSV, JSON Lines, or JSON Lines pipelined over workers.
    /// `name`: the reader's name for the input, which its errors carry (`<stdin>` for `-`).
    private static func decoding(_ input: String, workers: Int) throws -> (next: DecisionReplay.NextBatch, bytesRead: () -> Int, name: String) {
        if input.lowercased().hasSuffix(".csv") {
            let reader = try CSVEventReader(path: input)
            return ({ max in try reader.nextBatch(maxRecords: max) }, { reader.bytesRead }, reader.fileName)
        } else if workers > 1 {
            let reader = try JSONLinesReader(path: input)
            let source = PipelinedEventSource(reader: reader, workers: workers - 1)
            return ({ max in try source.nextBatch(maxEvents: max) }, { source.bytesRead }, reader.fileName)
        } else {
            let reader = try JSONLinesReader(path: input)
            return ({ max in try reader.nextBatch(maxLines: max) }, { reader.bytesRead }, reader.fileName)
        }
    }

    private static func size(of path: String) -> Int? {
        guard path != "-" else { return nil }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(info.st_size)
    }
}

/// `--features-out` in decision mode: the replay's union plan starts with the `--features`
/// columns, so each computed row's first `plan.count` values are the requested features.
/// Redelivered payments answered from the engine's decision cache get no row (docs/replay.md,
/// "`--features-out` with `--rules`"); features-only mode writes one per record.
private final class FeatureRowWriter: @unchecked Sendable {
    private let output: FileOutput
    private let encoder: FeatureRowEncoder
    private let width: Int

    init(output: FileOutput, plan: FeaturePlan) {
        self.output = output
        encoder = FeatureRowEncoder(plan: plan)
        width = plan.count
    }

    func write(_ events: [PaymentEvent], _ values: [Double], width rowWidth: Int) throws {
        try output.append { buffer in
            for (row, event) in events.enumerated() {
                encoder.append(paymentID: event.paymentID, values: values[(row * rowWidth)..<(row * rowWidth + width)], to: &buffer)
            }
        }
    }
}

/// A one-line progress bar on stderr (events, events/s, ETA), redrawn at most 10 times a second.
private final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private var lastDraw: ContinuousClock.Instant?
    private var drawn = false

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ progress: ReplayProgress) {
        guard enabled else { return }
        let now = ContinuousClock.now
        if let lastDraw, now - lastDraw < .milliseconds(100) { return }
        lastDraw = now
        var line = "\r\u{1B}[2K"
        if let fraction = progress.fraction {
            let width = 30, filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] " + Markup.percent(fraction, 0) + " "
        }
        line += "\(Markup.grouped(progress.events)) events  \(Markup.grouped(Int(progress.eventsPerSecond))) events/s"
        if let eta = progress.etaSeconds { line += "  ETA \(Int(eta.rounded()))s" }
        if progress.rejected > 0 { line += "  \(Markup.grouped(progress.rejected)) rejected" }
        writeError(line)
        drawn = true
    }

    func clear() {
        guard drawn else { return }
        writeError("\r\u{1B}[2K")
    }

    func finish() {
        guard drawn else { return }
        writeError("\n")
    }
}
