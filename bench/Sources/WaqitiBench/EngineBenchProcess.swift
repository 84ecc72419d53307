import Foundation

/// A `waqiti serve` child process configured for one bench phase through `WAQITI_*` variables
/// (its own topics and consumer group, HTTP on a free port), stopped with SIGTERM.
final class EngineProcess {
    static let apiKey = "waqiti-bench-api-key-0001"

    let process = Process()
    let logPath: String
    private(set) var httpPort = 0

    init(executable: String, environment overrides: [String: String], logPath: String) throws {
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve"]
        var environment = ProcessInfo.processInfo.environment
        environment["WAQITI_HTTP_PORT"] = "0"
        // Update-mode scoring, as the payment service does it (docs/api.md, Scopes).
        environment["WAQITI_API_KEYS"] = "bench:score:update:" + Self.apiKey
        // The bench measures the engine, not the per-credential limiter.
        environment["WAQITI_HTTP_RATE_LIMIT_PER_SECOND"] = "10000000"
        for (key, value) in overrides { environment[key] = value }
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// Waits for the HTTP line of the start-up banner (the Kafka consumer starts in the same group).
    func waitUntilServing(timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw BenchError("waqiti serve exited with status \(process.terminationStatus); see \(logPath)") }
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let line = log.split(separator: "\n").first(where: { $0.contains("waqiti serve: HTTP on ") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0) }) {
                httpPort = port
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("waqiti serve did not start within \(timeout); see \(logPath)")
    }

    /// CPU seconds (user + system) the process has used so far, from /proc.
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields after the command: state is index 0, utime 11, stime 12 (in clock ticks).
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
