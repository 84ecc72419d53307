// Benchmarks for the engine: `swift run -c release waqiti-bench <suite> [options]`.
// Each suite lives in its own file and registers itself in `suites`; every suite uses fixed seeds,
// warms up, reports the median of several runs as a table on stdout, and writes the same table
// to bench/results/<suite>.md with the machine and commit.

import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, let suite = BenchSuites.all[name] else {
    let names = BenchSuites.all.keys.sorted().joined(separator: ", ")
    print("usage: waqiti-bench <suite> [options]\nsuites: \(names.isEmpty ? "(none yet)" : names)")
    exit(arguments.isEmpty ? 0 : 2)
}
do {
    try await suite(Array(arguments.dropFirst()))
} catch {
    // A bad option or a missing service is the operator's to fix: say so, without a crash report.
    FileHandle.standardError.write(Data("waqiti-bench \(name): \(error)\n".utf8))
    exit(2)
}
