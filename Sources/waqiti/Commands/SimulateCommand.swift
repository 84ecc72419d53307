import ArgumentParser
import Foundation
import FraudCore
import Simulation

/// `waqiti simulate`: deterministic labeled traffic for demos, tests, training and benchmarks.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Generate deterministic payment traffic with labeled fraud scenarios.",
        discussion: """
        The same options and seed give the same bytes on every machine. Fraud scenarios: \
        \(FraudScenario.allCases.map(\.rawValue).joined(separator: ", ")); fraud events carry \
        "label": "fraud" and metadata.scenario, all others "label": "legit". Formats: docs/formats.md.
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case jsonl, csv
    }

    @Option(help: "Number of distinct events to generate.")
    var events: Int

    @Option(help: "Seed of the random generator.")
    var seed: UInt64 = 1

    @Option(help: "Output file, or - for standard output.")
    var out: String = "-"

    @Option(help: "Output format: jsonl or csv (default: from the file extension, else jsonl).")
    var format: Format?

    @Option(name: .customLong("fraud-rate"), help: "Fraction of events labeled fraud, 0...0.5.")
    var fraudRate: Double = 0.01

    @Option(help: "Event time of the first event, RFC 3339.")
    var start: String = "2026-11-01T00:00:00Z"

    @Option(help: "Mean events per second of event time (default: the events span one week).")
    var rate: Double?

    @Option(help: "Bounded arrival disorder in milliseconds: no event arrives after an event more than this much later.")
    var disorder: Int64 = 0

    @Option(help: "Fraction of events delivered twice (same payment_id and content), a little later.")
    var duplicates: Double = 0

    func run() throws {
        guard let startTime = RFC3339.parse(start) else {
            throw ValidationError("--start: invalid time \"\(start)\" (expected RFC 3339 such as 2026-11-01T00:00:00Z)")
        }
        let configuration = SimulationConfiguration(
            events: events, seed: seed, fraudRate: fraudRate, start: startTime, eventsPerSecond: rate,
            disorder: EventDuration(milliseconds: disorder), duplicateRate: duplicates
        )
        var delivery: SimulatedDelivery
        do {
            delivery = try SimulatedDelivery(configuration)
        } catch {
            throw ValidationError(error.description)
        }
        let format = format ?? (out.hasSuffix(".csv") ? .csv : .jsonl)
        let output = try FileOutput(path: out)
        let writer: any EventFileWriter = switch format {
        case .jsonl: JSONLinesEventWriter(output: output)
        case .csv: try CSVEventWriter(output: output, metadataKeys: ["scenario"])
        }
        let clock = ContinuousClock()
        let began = clock.now
        var written = 0
        while let event = delivery.next() {
            try writer.write(event)
            written += 1
        }
        try writer.close()
        let seconds = (clock.now - began) / .seconds(1)
        let fraudPercent = events == 0 ? 0 : Double(delivery.fraudEvents) / Double(events) * 100
        // Standard output may be the data itself, so the summary goes to standard error.
        let summary = "wrote \(written) events (\(events) distinct, \(delivery.fraudEvents) fraud = "
            + String(format: "%.2f%%", fraudPercent) + ") to \(output.displayName) in " + String(format: "%.2f s\n", seconds)
        FileHandle.standardError.write(Data(summary.utf8))
    }
}
