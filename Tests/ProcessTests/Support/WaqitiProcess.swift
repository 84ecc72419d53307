import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One running `waqiti` child process (`serve`, `payment`, `wallet`…) for end-to-end tests.
///
/// The child inherits the test's environment (the stack's addresses and LD_LIBRARY_PATH from
/// env.sh) plus `environment`; its stdout and stderr go to files in the test's temporary folder
/// (its suite needs `.temporaryFolder`) so the test can wait for a line and show the tail on
/// failure. The process is SIGKILLed when this object is released, so a failing test never leaves
/// an engine running.
final class WaqitiProcess: @unchecked Sendable {
    let name: String
    let stdoutURL: URL
    let stderrURL: URL
    private let process: Process

    /// Starts `waqiti ARGUMENTS…`. `name` labels the process in errors and file names.
    init(_ arguments: [String], environment: [String: String] = [:], name: String) throws {
        self.name = name
        let folder = try ProcessEnvironment.temporaryDirectory(name)
        stdoutURL = folder.appendingPathComponent("stdout.log")
        stderrURL = folder.appendingPathComponent("stderr.log")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process = Process()
        process.executableURL = try Self.executableURL()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.currentDirectoryURL = ProcessEnvironment.packageRoot
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    deinit {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// The binary under test: `WAQITI_BINARY` if set, else the debug build in the package.
    static func executableURL() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["WAQITI_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let url = ProcessEnvironment.packageRoot.appendingPathComponent(".build/debug/waqiti")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw ProcessTestError.missingBinary(url.path)
        }
        return url
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Everything the process has written to stdout so far.
    func standardOutput() -> String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    /// Everything the process has written to stderr so far (its logs).
    func standardError() -> String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// The last lines of stderr, for failure messages.
    func stderrTail(lines: Int = 30) -> String {
        standardError().split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Waits until stdout or stderr contains `text`; fails early if the process exits.
    func waitForOutput(containing text: String, timeout: Duration = .seconds(60)) async throws {
        try await poll(until: "\(name) to print \"\(text)\"", timeout: timeout) {
            self.standardOutput().contains(text) || self.standardError().contains(text)
        }
    }

    /// Waits until `url` answers any HTTP status (the server is listening); fails early if the
    /// process exits.
    func waitForHTTP(_ url: URL, timeout: Duration = .seconds(120)) async throws {
        try await poll(until: "\(name) to answer HTTP at \(url)", timeout: timeout) {
            (try? await HTTP.request("GET", url, timeout: 2)) != nil
        }
    }

    /// SIGTERM: the graceful path (drain, commit, exit 0).
    func terminate() { if process.isRunning { Glibc.kill(process.processIdentifier, SIGTERM) } }

    /// Sends `number` (SIGINT for Ctrl-C…) if the process still runs.
    func signal(_ number: Int32) { if process.isRunning { Glibc.kill(process.processIdentifier, number) } }

    /// SIGKILL: the crash path; nothing is drained or committed.
    func kill() { if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) } }

    /// Waits for the process to exit and returns its status (for a signal, 128 + the signal, as
    /// a shell reports it).
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw ProcessTestError.timeout("\(name) to exit") }
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    private func poll(until what: String, timeout: Duration, _ condition: @escaping @Sendable () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if await condition() { return }
            guard process.isRunning else {
                throw ProcessTestError.exited(name: name, status: process.terminationStatus, stderrTail: stderrTail())
            }
            guard ContinuousClock.now < deadline else {
                throw ProcessTestError.timeout("\(what); stderr ends:\n\(stderrTail())")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// A finished `waqiti` command: what a CLI test asserts on.
struct CommandResult: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
}

extension WaqitiProcess {
    /// Runs `waqiti ARGUMENTS…` to completion (a CLI command such as `rules check`), feeding
    /// `input` on stdin, and returns its exit status and output.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], input: Data? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> CommandResult {
        let folder = try ProcessEnvironment.temporaryDirectory("cmd")
        let outURL = folder.appendingPathComponent("stdout"), errURL = folder.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = try executableURL()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.currentDirectoryURL = ProcessEnvironment.packageRoot
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            try stdin.fileHandleForWriting.write(contentsOf: input)
            try stdin.fileHandleForWriting.close()
        }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                Glibc.kill(process.processIdentifier, SIGKILL)
                throw ProcessTestError.timeout("waqiti \(arguments.joined(separator: " ")) to finish")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return CommandResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        )
    }
}

/// Plain HTTP over loopback for process tests (URLSession; no extra dependency).
enum HTTP {
    struct Response: Sendable {
        let status: Int
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        /// The body as a JSON object; a test failure names the body when it is not one.
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw ProcessTestError.timeout("a JSON object, got: \(text.prefix(300))")
            }
            return object
        }
    }

    static func request(
        _ method: String, _ url: URL, headers: [String: String] = [:], body: Data? = nil, timeout: TimeInterval = 10
    ) async throws -> Response {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Response(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
    }
}
