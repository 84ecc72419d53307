import ArgumentParser
import Foundation
import Logging
import Services

/// The options the three platform-service commands share.
struct ServiceCommandOptions: ParsableArguments {
    @Option(help: "JSON configuration file; WAQITI_* environment variables override it (docs/services.md).")
    var config: String?

    @Option(help: "Port to listen on (overrides http.port).")
    var port: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func load(service: String) throws -> (ServicesConfiguration, Logger) {
        var configuration: ServicesConfiguration
        do {
            configuration = try ServicesConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
        } catch let error as ConfigurationError {
            throw CommandFailure(error.description)
        }
        if let port { configuration.httpPort = port }
        var logger = Logger(label: "waqiti.\(service)")
        logger.logLevel = logLevel
        print("waqiti \(service): configuration\n\(configuration.redactedDescription)")
        return (configuration, logger)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
