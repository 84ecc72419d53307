import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Services

/// `waqiti parked list|replay|resolve`: the records the platform consumers parked because they
/// could never be applied (platform.parked_messages; docs/services.md, "Records that cannot be
/// applied").
struct ParkedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parked",
        abstract: "List, replay or resolve records the platform consumers parked (platform.parked_messages).",
        subcommands: [List.self, Replay.self, Resolve.self])

    /// The connection options of the services (postgres.url, kafka.brokers), without a port.
    struct Options: ParsableArguments {
        @Option(help: "JSON configuration file; WAQITI_* environment variables override it (docs/services.md).")
        var config: String?

        func withParked<T: Sendable>(_ body: (ParkedMessages, ServicesConfiguration, Logger) async throws -> T) async throws -> T {
            let configuration: ServicesConfiguration
            do {
                configuration = try ServicesConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
            } catch let error as ConfigurationError {
                throw CommandFailure(error.description)
            }
            var logger = Logger(label: "waqiti.parked")
            logger.logLevel = .warning
            let database = Database(url: configuration.postgresURL, maximumConnections: 2, logger: logger)
            do {
                return try await database.client.whileRunning {
                    try await body(ParkedMessages(database: database), configuration, logger)
                }
            } catch let error as PSQLError {
                // PSQLError's own description hides the server's message.
                let failure = ConsumerFailure(classifying: error)
                let hint = failure.sqlState == "42P01"
                    ? "; start a platform service (waqiti payment|wallet|reconcile) once on this database so it applies migration 0007"
                    : "; check postgres.url (WAQITI_POSTGRES_URL)"
                throw CommandFailure("platform.parked_messages: \(failure)\(hint)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Parked records, oldest first (unresolved ones unless --all).")

        @OptionGroup var options: Options
        @Option(help: "Only this consumer's: payment-decisions, wallet-settlement or reconciliation-topics.")
        var consumer: String?
        @Flag(help: "Include records already replayed or resolved.")
        var all = false
        @Flag(help: "One JSON object per line (payload and key base64).")
        var json = false

        func run() async throws {
            let entries = try await options.withParked { parked, _, _ in
                try await parked.list(consumer: consumer, unresolvedOnly: !all)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.dateEncodingStrategy = .iso8601
                encoder.outputFormatting = .sortedKeys
                for entry in entries { print(String(decoding: try encoder.encode(entry), as: UTF8.self)) }
                return
            }
            if entries.isEmpty { print("no parked records") }
            for entry in entries {
                let key = entry.key.map { String(decoding: $0, as: UTF8.self) } ?? "(none)"
                let state = entry.resolution.map { "resolved: \($0)" } ?? "unresolved"
                print("#\(entry.id) \(entry.consumer) \(entry.topic)/\(entry.partition)@\(entry.offset) key \(key) \(entry.failure.rawValue)"
                      + " \(entry.sqlState ?? "-") \(state): \(entry.error)")
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish parked records again to their topic with their key, then mark them replayed.",
            discussion: "Fix what refused them first (a new build, a corrected schema), or they are parked again. Every consumer group of the topic receives them; each applies a decision once per payment id.")

        @OptionGroup var options: Options
        @Argument(help: "Ids from `waqiti parked list`.")
        var ids: [Int64]

        func run() async throws {
            let missing = try await options.withParked { parked, configuration, logger in
                let publisher = try KafkaMessaging(configuration: configuration, logger: logger).publisher()
                var missing: [Int64] = []
                for id in ids {
                    if let entry = try await parked.replay(id: id, publisher: publisher) {
                        print("#\(id) published again to \(entry.topic) and marked replayed")
                    } else {
                        missing.append(id)
                    }
                }
                return missing
            }
            guard missing.isEmpty else {
                throw CommandFailure("no unresolved parked record with id \(missing.map(String.init).joined(separator: ", ")); see `waqiti parked list --all`")
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a parked record settled by hand, saying how.")

        @OptionGroup var options: Options
        @Argument(help: "An id from `waqiti parked list`.")
        var id: Int64
        @Option(help: "How it was settled, e.g. \"payment reviewed by hand\".")
        var resolution: String

        func run() async throws {
            let done = try await options.withParked { parked, _, _ in try await parked.resolve(id: id, resolution: resolution) }
            guard done else { throw CommandFailure("no unresolved parked record with id \(id); see `waqiti parked list --all`") }
            print("#\(id) resolved: \(resolution)")
        }
    }
}
