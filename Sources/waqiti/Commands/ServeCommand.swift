import ArgumentParser
import Allocator
import BLAS
import Engine
import Foundation
import Kafka
import Logging
import Server
import ServiceLifecycle

/// `waqiti serve`: the streaming engine: Kafka in, decisions out, HTTP on 8083.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the fraud engine: consume payments from Kafka, publish decisions, serve HTTP.",
        discussion: """
        Configuration: embedded defaults, then --config FILE (JSON), then WAQITI_*
        environment variables; secrets (WAQITI_API_KEYS, WAQITI_JWT_SECRET) only
        from the environment. docs/operations.md lists every key. SIGTERM or
        Ctrl-C drains in-flight batches, commits their offsets and exits 0. A drain
        that takes longer than shutdown.timeout (30s), or a second SIGTERM or
        Ctrl-C, stops at once: what is not committed is logged (the partitions'
        next owner reads it again) and the exit status is 1.
        """
    )

    @Option(name: .long, help: "JSON configuration file (optional).")
    var config: String?

    @Flag(name: .customLong("http-only"), help: "Serve HTTP scoring without the Kafka consumer and producer.")
    var httpOnly = false

    func run() async throws {
        let configuration: EngineConfiguration
        do {
            configuration = try EngineConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("waqiti serve: configuration error: \(error)\n".utf8))
            throw ExitCode(78)
        }
        LoggingSystem.bootstrap { DeferredMetadataLogHandler(label: $0) }
        let registry = PrometheusExport.registry
        let logger = Logger(label: "waqiti.serve")

        Self.say("waqiti serve: configuration\n\(configuration.redactedDescription.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n"))")
        if !httpOnly { Self.say("waqiti serve: librdkafka \(KafkaLibrary.version)") }
        Self.say("waqiti serve: allocator \(Allocator.description)")
        if configuration.http.apiKeys.isEmpty, configuration.http.jwtSecret == nil {
            Self.say("waqiti serve: warning: neither WAQITI_API_KEYS nor WAQITI_JWT_SECRET is set: every endpoint but health answers 401")
        }
        if let warning = APIKey.legacyWarning(configuration.http.apiKeys) { Self.say("waqiti serve: warning: \(warning)") }
        if configuration.http.jwtSecret != nil {
            Self.say("waqiti serve: bearer tokens without a scope claim may only score with dry_run=true (scope score)")
        }

        // Model scoring is one short dot product per event, on the engine's own workers: a second
        // OpenBLAS thread would only compete with them (docs/model.md).
        BLAS.useCallingThreadOnly()
        let runtime: EngineRuntime
        do {
            runtime = try EngineRuntime(configuration: configuration, withKafka: !httpOnly, logger: logger)
        } catch EngineRuntime.StartError.configuration(let error) {
            // Values that are each valid but do not go together: a configuration error too.
            FileHandle.standardError.write(Data("waqiti serve: configuration error: \(error)\n".utf8))
            throw ExitCode(78)
        } catch {
            FileHandle.standardError.write(Data("waqiti serve: cannot start: \(error)\n".utf8))
            throw ExitCode.failure
        }
        for warning in runtime.warnings { Self.say("waqiti serve: warning: \(warning)") }
        Self.say("waqiti serve: rules \(runtime.rules.current.version), model \(runtime.model?.current.version ?? "none"), features \(runtime.engine.currentPlan.count)")

        let http = FraudHTTPServer.makeApplication(
            engine: runtime.engine, configuration: configuration, health: runtime.health, registry: registry, logger: logger,
            onServerRunning: { port in Self.say("waqiti serve: HTTP on \(configuration.http.host):\(port)") }
        )
        // No signals for the group itself: ShutdownController traps SIGTERM and SIGINT, bounds
        // the graceful shutdown by shutdown.timeout and cancels at a second signal.
        var groupConfiguration = ServiceGroupConfiguration(
            services: runtime.services.map { .init(service: $0) } + [.init(service: http)],
            gracefulShutdownSignals: [], cancellationSignals: [], logger: logger
        )
        // Last resort: services that ignore cancellation for this long abort the process.
        groupConfiguration.maximumCancellationDuration = .seconds(30)
        let shutdown = ShutdownController(
            timeout: .milliseconds(configuration.shutdownTimeout.milliseconds), logger: logger, announce: { Self.say($0) })
        let outcome: ShutdownController.Outcome
        do {
            outcome = try await shutdown.run(ServiceGroup(configuration: groupConfiguration))
        } catch {
            // A service failed (a fatal Kafka error, a port in use): the others were cancelled.
            runtime.close(within: .seconds(5))
            FileHandle.standardError.write(Data("waqiti serve: stopped: \(error)\n".utf8))
            throw ExitCode.failure
        }
        switch outcome {
        case .completed:
            runtime.close()
            Self.say("waqiti serve: stopped cleanly")
        case .escalated(let reason):
            runtime.close(within: .seconds(5))
            Self.say("waqiti serve: stopped without draining (\(reason)); the offsets not committed are logged above and are read again by the partitions' next owner")
            throw ExitCode.failure
        }
    }

    /// Prints one line of the operator banner and flushes it: stdout to a file or pipe (systemd,
    /// a supervisor, the bench) is block-buffered, so "HTTP on host:port" would otherwise wait
    /// in the buffer until exit.
    private static func say(_ line: String) {
        print(line)
        fflush(nil)
    }
}
