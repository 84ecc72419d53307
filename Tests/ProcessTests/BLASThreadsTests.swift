import Foundation
import Testing
import LocalStackSupport

#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS starts a pool of worker threads when the library loads, before `main`; lowering its
/// thread count leaves them alive, and each spins ~0.1 s of CPU before it sleeps. `waqiti replay`
/// and `serve` stop that pool at start-up (`BLAS.useCallingThreadOnly`).
@Suite("OpenBLAS worker pool in the real binary", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct BLASThreadsTests {
    /// The names of the process's threads, from the kernel.
    static func threadNames(of pid: Int32) throws -> [String] {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        return try tasks.map {
            try String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// nil: the binary stops the pool. "2": the operator's OPENBLAS_NUM_THREADS wins, and
    /// OpenBLAS keeps its worker (one per extra core, at most one here).
    @Test("replay runs with no OpenBLAS worker thread unless OPENBLAS_NUM_THREADS asks for them, and decides what it reads", arguments: [nil, "2"])
    func replayStopsThePool(openBLASThreads: String?) async throws {
        let folder = try ProcessEnvironment.temporaryDirectory("blas-pool")
        let input = folder.appendingPathComponent("in.jsonl").path
        let decisions = folder.appendingPathComponent("decisions.jsonl").path
        // A FIFO holds replay at its input until the test has looked at its threads.
        #expect(mkfifo(input, 0o600) == 0, "mkfifo: \(String(cString: strerror(errno)))")
        let replay = try WaqitiProcess(
            ["replay", "--input", input, "--rules", "rules/default.rules", "--model", "models/default.json",
             "--decisions-out", decisions, "--quiet"],
            environment: openBLASThreads.map { ["OPENBLAS_NUM_THREADS": $0] } ?? [:], name: "blas-pool")

        // Opening the write end without blocking succeeds only once replay has opened the read
        // end, which it does after the model is loaded and the pool stopped.
        var writer: Int32 = -1
        let deadline = ContinuousClock.now + .seconds(60)
        while writer < 0 {
            writer = open(input, O_WRONLY | O_NONBLOCK)
            guard writer < 0 else { break }
            #expect(errno == ENXIO)
            guard replay.isRunning, ContinuousClock.now < deadline else {
                Issue.record("replay never opened its input; stderr ends:\n\(replay.stderrTail())")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }

        // The pool's threads are created by the loading thread and so carry the binary's name;
        // the other threads the binary starts (Dispatch's, Swift's) name themselves.
        let names = try Self.threadNames(of: replay.pid)
        let workers = openBLASThreads == nil ? 0 : min(2, ProcessInfo.processInfo.activeProcessorCount) - 1
        #expect(names.filter { $0 == "waqiti" }.count == 1 + workers, "threads: \(names)")

        let lines = (1...2).map { n in
            #"{"payment_id":"blas-\#(n)","occurred_at":"2026-11-29T08:15:3\#(n)Z","account_id":"acct-1","card_fingerprint":"card-1","device_id":"dev-1","ip":"203.0.113.7","merchant_id":"m-1","mcc":"5411","amount_minor":75000,"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment"}"#
        }.joined(separator: "\n") + "\n"
        let written = lines.utf8CString.withUnsafeBufferPointer { write(writer, $0.baseAddress, lines.utf8.count) }
        #expect(written == lines.utf8.count)
        close(writer)

        let status = try await replay.waitForExit(timeout: .seconds(60))
        #expect(status == 0, "replay exited \(status); stderr ends:\n\(replay.stderrTail())")
        let ids = try String(contentsOfFile: decisions, encoding: .utf8).split(separator: "\n").map { line in
            (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["payment_id"] as? String
        }
        #expect(ids == ["blas-1", "blas-2"])
    }
}
