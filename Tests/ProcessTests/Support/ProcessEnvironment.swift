import Foundation
import Testing

import LocalStackSupport

#if canImport(Glibc)
import Glibc
#endif

/// Small utilities for tests that launch the real `waqiti` binary against the local stack (the
/// gate and the stack's addresses are `LocalStack`'s). `scripts/test` builds every product first;
/// a missing binary is a failure, never a skip.
enum ProcessEnvironment {



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

    /// A fresh folder inside the test's `TemporaryFolder` (the suite needs `.temporaryFolder`), for
    /// one process's or fixture's files.
    static func temporaryDirectory(_ stem: String) throws -> URL {
        try TemporaryFolder.current.folder(stem)
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
