import ArgumentParser
import Services

struct WalletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wallet",
        abstract: "Run the wallet service (HTTP 8082): double-entry ledger, holds, settlement of decisions.")

    @OptionGroup var options: ServiceCommandOptions

    func run() async throws {
        let (configuration, logger) = try options.load(service: "wallet")
        try await PlatformServices.runWallet(configuration: configuration, messaging: KafkaMessaging(configuration: configuration, logger: logger), logger: logger)
    }
}
