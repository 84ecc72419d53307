import FraudCore

/// Replays recorded events through a feature store, in input (arrival) order and in batches, and
/// writes one feature line per event in input order: the offline path of `waqiti replay`.
///
/// Malformed input lines never stop a replay: each one is handed to `onBadLine` (and written to
/// the dead-letter output if there is one) and counted in the summary.
public struct FeatureReplay: Sendable {
    /// What a replay did, for the CLI's closing line and exit status.
    public struct Summary: Sendable, Equatable {
        public var events = 0
        public var badLines = 0
        public var duplicates = 0
        public var tooLate = 0
        public var batches = 0

        public init() {}
    }

    /// Where events come from: the JSON Lines and CSV readers both fit.
    public typealias NextBatch = (_ maxEvents: Int) throws -> EventBatch?

    public let plan: FeaturePlan
    public let store: any FeatureStore
    public let batchSize: Int

    public init(plan: FeaturePlan, store: any FeatureStore, batchSize: Int = 512) {
        self.plan = plan
        self.store = store
        self.batchSize = max(1, batchSize)
    }

    /// Opens `path` with the reader its extension calls for: `.csv` is CSV, anything else JSON Lines.
    public static func reader(for path: String) throws -> NextBatch {
        if path.lowercased().hasSuffix(".csv") {
            let reader = try CSVEventReader(path: path)
            return { max in try reader.nextBatch(maxRecords: max) }
        }
        let reader = try JSONLinesReader(path: path)
        return { max in try reader.nextBatch(maxLines: max) }
    }

    public func run(
        from next: NextBatch, to output: FileOutput, deadLetters: FileOutput? = nil,
        onBadLine: (EventLineError) -> Void = { _ in }
    ) async throws -> Summary {
        let encoder = FeatureRowEncoder(plan: plan)
        var summary = Summary()
        var values: [Double] = []
        var line: [UInt8] = []
        while let batch = try next(batchSize) {
            for error in batch.errors {
                summary.badLines += 1
                onBadLine(error)
                if let deadLetters {
                    line.removeAll(keepingCapacity: true)
                    FeatureReplay.appendDeadLetter(error, to: &line)
                    try deadLetters.write(line)
                }
            }
            guard !batch.events.isEmpty else { continue }
            let report = try await store.process(batch.events, plan: plan, mode: .update, into: &values)
            summary.events += batch.events.count
            summary.duplicates += report.duplicates
            summary.tooLate += report.tooLate
            summary.batches += 1
            let width = plan.count
            line.removeAll(keepingCapacity: true)
            for (i, event) in batch.events.enumerated() {
                encoder.append(paymentID: event.paymentID, values: values[(i * width)..<((i + 1) * width)], to: &line)
            }
            try output.write(line)
        }
        return summary
    }

    /// `{"file":"events.jsonl","line":12,"kind":"syntax","error":"…","raw":"…"}`: enough to fix and
    /// resubmit the line. `kind` is `EventDecodingError.kind`, as on the Kafka dead-letter topic.
    public static func appendDeadLetter(_ error: EventLineError, to out: inout [UInt8]) {
        appendDeadLetter(file: error.file, line: error.line, kind: error.error.kind.rawValue, error: error.error.description,
                         raw: String(decoding: error.rawLine, as: UTF8.self), to: &out)
    }

    /// One dead-letter line: where the record came from (`file` and `line`, or for Kafka
    /// `topic[partition]` and the offset), why it was not used, and its text.
    public static func appendDeadLetter(file: String, line: Int, kind: String, error: String, raw: String, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"file":"#.utf8)
        FeatureRowEncoder.appendString(file, to: &out)
        out.append(contentsOf: #","line":"#.utf8)
        out.append(contentsOf: String(line).utf8)
        out.append(contentsOf: #","kind":"#.utf8)
        FeatureRowEncoder.appendString(kind, to: &out)
        out.append(contentsOf: #","error":"#.utf8)
        FeatureRowEncoder.appendString(error, to: &out)
        out.append(contentsOf: #","raw":"#.utf8)
        FeatureRowEncoder.appendString(raw, to: &out)
        out.append(contentsOf: "}\n".utf8)
    }
}
