#if canImport(Glibc)
@_exported import Glibc
#endif

/// The suites by name; each declares its options and body as a `BenchSuite` (BenchArguments.swift).
enum BenchSuites {
    /// One entry per suite file; keep alphabetical to keep merges trivial.
    static let all: [String: BenchSuite] = [
        "decide": DecideBench.suite,
        "decode": CodecBench.decode,
        "engine": EngineBench.suite,
        "features": FeaturesBench.suite,
        "model": ModelBench.suite,
        "replay": ReplayBench.suite,
        "rules": RulesBench.suite,
        "simulate": CodecBench.simulate,
    ]
}
