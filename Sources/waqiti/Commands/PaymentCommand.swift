import ArgumentParser
import Services

struct PaymentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payment",
        abstract: "Run the payment service (HTTP 8081): payment API, review queue, decision consumer.")

    @OptionGroup var options: ServiceCommandOptions

    func run() async throws {
        let (configuration, logger) = try options.load(service: "payment")
        try await PlatformServices.runPayment(configuration: configuration, messaging: KafkaMessaging(configuration: configuration, logger: logger), logger: logger)
    }
}
