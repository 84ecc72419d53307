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
        environment["WAQITI_API_KEYS"] = Self.apiKey
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

/// `POST /v1/score` under `wrk` (Debian's wrk 4, closed loop): each connection waits `delay` ms
/// between requests, which caps the rate at connections × 1000 / delay; requests cycle through
/// simulated payments of many accounts, each with a new payment id, so every one is scored and
/// updates windows like a streamed event.
enum WrkRun {
    struct Result: Sendable {
        var requests: Int
        var seconds: Double
        var errors: Int
        var p50: Double, p99: Double, p999: Double, max: Double  // milliseconds
        var rate: Double { Double(requests) / seconds }
    }

    static func run(label: String, port: Int, connections: Int, delayMilliseconds: Int, seconds: Int, bodies: [String], workDirectory: String) throws -> Result {
        let script = """
        local counter = 0
        local prefix = "wrk-\(label)-"
        wrk.method = "POST"
        wrk.headers["Content-Type"] = "application/json"
        wrk.headers["X-API-Key"] = "\(EngineProcess.apiKey)"
        local bodies = {
        \(bodies.map { "[[\($0)]]" }.joined(separator: ",\n"))
        }
        request = function()
          counter = counter + 1
          local payload = string.gsub(bodies[counter % #bodies + 1], "PAYMENT_ID", prefix .. counter)
          return wrk.format(nil, "/v1/score", nil, payload)
        end
        \(delayMilliseconds > 0 ? "delay = function() return \(delayMilliseconds) end" : "")
        done = function(summary, latency, requests)
          local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
          io.write(string.format("WRK %d %d %d %.3f %.3f %.3f %.3f\\n", summary.requests, summary.duration, errors,
            latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
        end
        """
        let path = "\(workDirectory)/score-\(label).lua"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
        process.arguments = ["-t1", "-c\(connections)", "-d\(seconds)s", "-s", path, "http://127.0.0.1:\(port)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("WRK ") }) else {
            throw BenchError("wrk printed no summary: \(output.prefix(500))")
        }
        let fields = line.split(separator: " ").dropFirst().map { Double($0) ?? 0 }
        return Result(requests: Int(fields[0]), seconds: fields[1] / 1e6, errors: Int(fields[2]),
                      p50: fields[3], p99: fields[4], p999: fields[5], max: fields[6])
    }
}
