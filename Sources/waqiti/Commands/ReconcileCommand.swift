import ArgumentParser
import Services

struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Run the reconciliation service (HTTP 8084): topic vs. payment vs. ledger breaks, settlement totals.")

    @OptionGroup var options: ServiceCommandOptions

    func run() async throws {
        let (configuration, logger) = try options.load(service: "reconcile")
        try await PlatformServices.runReconciliation(configuration: configuration, messaging: KafkaMessaging(configuration: configuration, logger: logger), logger: logger)
    }
}
