// Benchmarks for the engine: `swift run -c release waqiti-bench <suite> [options]`.
// Each suite lives in its own file and registers itself in `suites`; every suite uses fixed seeds,
// warms up, reports the median of several runs as a table on stdout, and writes the same table
// to bench/results/<suite>.md with the machine and commit. Its options are parsed here, before it
// runs (BenchArguments.swift): `waqiti-bench <suite> --help` lists them.

import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let names = BenchSuites.all.keys.sorted()
let usage = "usage: waqiti-bench <suite> [options]   (measure in release: swift run -c release waqiti-bench <suite> …)\n\nsuites:\n"
    + names.map { "  \($0.padding(toLength: 10, withPad: " ", startingAt: 0))\(BenchSuites.all[$0]!.summary.prefix { $0 != "\n" })" }.joined(separator: "\n")
    + "\n\n`waqiti-bench <suite> --help` lists a suite's options and their defaults.\n"
guard let name = arguments.first, name != "--help", name != "-h" else {
    print(usage, terminator: "")
    exit(0)
}
guard let suite = BenchSuites.all[name] else {
    let guess = closestName(to: name, among: names).map { " (did you mean \($0)?)" } ?? ""
    FileHandle.standardError.write(Data("waqiti-bench: unknown suite '\(name)'\(guess)\n\n\(usage)".utf8))
    exit(2)
}
do {
    try await suite.run(try BenchArguments(Array(arguments.dropFirst()), suite: name, suite))
} catch let help as BenchHelpRequested {
    print(help.text, terminator: "")
    exit(0)
} catch {
    // A bad option or a missing service is the operator's to fix: say so, without a crash report.
    FileHandle.standardError.write(Data("waqiti-bench \(name): \(error)\n".utf8))
    exit(2)
}
