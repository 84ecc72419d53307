import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The gate, the addresses and small utilities for tests that launch the real `waqiti` binary
/// against the local stack. `scripts/test` builds every product, starts the stack, sources
/// deploy/local/env.sh and sets WAQITI_INTEGRATION=1; then a missing variable, binary or service
/// is a failure, never a skip.
enum ProcessEnvironment {
    /// Use as `.enabled(if: ProcessEnvironment.isEnabled, ProcessEnvironment.skipMessage)`.
    static let isEnabled = ProcessInfo.processInfo.environment["WAQITI_INTEGRATION"] == "1"
    static let skipMessage: Comment =
        "SKIPPED: process test needs the built waqiti binary and the local stack; run scripts/test"

    /// The value of an environment variable that env.sh exports; records a failure naming it when
    /// it is missing.
    static func required(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            Issue.record("\(name) is not set: source deploy/local/env.sh after deploy/local/start", sourceLocation: sourceLocation)
            throw ProcessTestError.missingVariable(name)
        }
        return value
    }

    /// A name unique to one test run (topics, consumer groups, Redis prefixes), so reruns and
    /// other tests never see each other's state.
    static func uniqueName(_ stem: String) -> String {
        "waqiti-ptest-\(stem)-\(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF)"
    }

    /// A TCP port on loopback that was free a moment ago: bind port 0, read what the kernel chose,
    /// close. A child process binds it right after; a clash is possible but rare and loud.
    static func freePort() throws -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw ProcessTestError.system("socket", errno) }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(socketFD, socketAddress, length) == 0 && getsockname(socketFD, socketAddress, &length) == 0
            }
        }
        guard bound else { throw ProcessTestError.system("bind/getsockname", errno) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A fresh folder under the system's temporary directory, for a test's files.
    static func temporaryDirectory(_ stem: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName(stem), isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The package's root folder, found from this source file's path (Tests/ProcessTests/Support/).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Failures of the process harness itself, each saying how to fix the setup.
enum ProcessTestError: Error, CustomStringConvertible {
    case missingVariable(String)
    case missingBinary(String)
    case system(String, Int32)
    case timeout(String)
    case exited(name: String, status: Int32, stderrTail: String)

    var description: String {
        switch self {
        case .missingVariable(let name): "\(name) is not set: source deploy/local/env.sh"
        case .missingBinary(let path): "no waqiti binary at \(path): run `swift build` first (scripts/test does), or set WAQITI_BINARY"
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        case .timeout(let what): "timed out waiting for \(what)"
        case .exited(let name, let status, let tail): "\(name) exited with status \(status) while still needed; stderr ends:\n\(tail)"
        }
    }
}
