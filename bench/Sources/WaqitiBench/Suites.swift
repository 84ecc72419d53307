#if canImport(Glibc)
@_exported import Glibc
#endif

/// A benchmark suite: takes its command-line options, prints and writes its results.
typealias BenchSuite = @Sendable ([String]) async throws -> Void

enum BenchSuites {
    /// One entry per suite file; keep alphabetical to keep merges trivial.
    static let all: [String: BenchSuite] = [
        "decide": DecideBench.suite,
        "decode": CodecBench.decode,
        "engine": EngineBench.suite,
        "features": FeaturesBench.suite,
        "model": ModelBench.run,
        "replay": ReplayBench.suite,
        "rules": RulesBench.suite,
        "simulate": CodecBench.simulate,
    ]
}
