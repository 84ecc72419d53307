import Testing
@testable import waqiti_bench

// waqiti-bench's shared argument parser: what each kind of option accepts, the errors that stop a
// run before it measures or writes anything, and every registered suite's options and defaults.

private let count: BenchOption<Int> = .integer("--events", default: 1000, help: "events")
private let positive: BenchOption<Int> = .integer("--seconds", "S", default: 15, minimum: 1, help: "seconds")
private let runs: BenchOption<Int> = .runs(default: 3)
private let workers: BenchOption<Int> = .integer("--workers", default: 2, raisedTo: 2, help: "threads")
private let profile: BenchOption<Int?> = .integer("--profile", "SIZE", minimum: 1, unset: "off", help: "one size")
private let sizes: BenchOption<[Int]> = .positiveIntegers("--sizes", default: [1, 8], help: "batch sizes")
private let path: BenchOption<String> = .text("--rules", "PATH", default: "rules/default.rules", help: "rules")
private let url: BenchOption<String?> = .text("--redis", "URL", unset: "none", help: "redis")
private let only: BenchOption<String?> = .word("--only", from: ["http", "throughput"], unset: "every phase", help: "one phase")
private let stores: BenchOption<[String]> = .words("--stores", from: ["memory", "redis"], default: ["memory", "redis"], help: "stores")
private let noHTTP: BenchOption<Bool> = .flag("--no-http", help: "no HTTP")

private let suite = BenchSuite(summary: "A test suite.\nIts details.",
                               options: [count, positive, runs, workers, profile, sizes, path, url, only, stores, noHTTP]) { _ in }

private func parse(_ arguments: [String]) throws -> BenchArguments { try BenchArguments(arguments, suite: "test", suite) }

/// The message of the error `arguments` raise, or nil when they parse.
private func failure(_ arguments: [String]) -> String? {
    do {
        _ = try parse(arguments)
        return nil
    } catch {
        return "\(error)"
    }
}

@Test func defaultsWhenNothingIsGiven() throws {
    let arguments = try parse([])
    #expect(arguments[count] == 1000)
    #expect(arguments[positive] == 15)
    #expect(arguments[runs] == 3)
    #expect(arguments[workers] == 2)
    #expect(arguments[profile] == nil)
    #expect(arguments[sizes] == [1, 8])
    #expect(arguments[path] == "rules/default.rules")
    #expect(arguments[url] == nil)
    #expect(arguments[only] == nil)
    #expect(arguments[stores] == ["memory", "redis"])
    #expect(arguments[noHTTP] == false)
    #expect(arguments.given == [])
}

@Test func givenValuesAndTheLastOfARepeatedOption() throws {
    let given = ["--events", "5", "--seconds", "2", "--profile", "64", "--sizes", "1,512", "--rules", "x.rules", "--redis", "redis://h:1/0",
                 "--only", "throughput", "--stores", "redis", "--no-http", "--events", "0"]
    let arguments = try parse(given)
    #expect(arguments[count] == 0)
    #expect(arguments[positive] == 2)
    #expect(arguments[profile] == 64)
    #expect(arguments[sizes] == [1, 512])
    #expect(arguments[path] == "x.rules")
    #expect(arguments[url] == "redis://h:1/0")
    #expect(arguments[only] == "throughput")
    #expect(arguments[stores] == ["redis"])
    #expect(arguments[noHTTP])
    // As given, for the results file's "Command:" line.
    #expect(arguments.given == given)
}

@Test(arguments: [("0", 1), ("-4", 1), ("7", 7)])
func runsBelowOneCountAsOne(text: String, expected: Int) throws {
    #expect(try parse(["--runs", text])[runs] == expected)
}

@Test(arguments: [("1", 2), ("2", 2), ("4", 4)])
func workersBelowTwoCountAsTwo(text: String, expected: Int) throws {
    #expect(try parse(["--workers", text])[workers] == expected)
}

@Test(arguments: [
    (["--event", "5"], "unknown option '--event' (did you mean --events?); `waqiti-bench test --help` lists its options"),
    (["--bogus"], "unknown option '--bogus'; `waqiti-bench test --help` lists its options"),
    (["5000"], "unexpected argument '5000': test takes only options; `waqiti-bench test --help` lists its options"),
    (["--events"], "--events needs a value: --events N, a whole number, 0 or more (default 1000)"),
    (["--events", "--runs", "3"], "--events needs a value: --events N, a whole number, 0 or more (default 1000)"),
    (["--events", "abc"], "--events takes a whole number, 0 or more, got 'abc'"),
    (["--events", "1e6"], "--events takes a whole number, 0 or more, got '1e6'"),
    (["--events", "-1"], "--events takes a whole number, 0 or more, got '-1'"),
    (["--seconds", "0"], "--seconds takes a positive whole number, got '0'"),
    (["--runs", "three"], "--runs takes a whole number, got 'three'"),
    (["--profile", "0"], "--profile takes a positive whole number, got '0'"),
    (["--sizes", "1,x"], "--sizes takes positive whole numbers separated by commas, e.g. 1,8, got '1,x'"),
    (["--sizes", "0,8"], "--sizes takes positive whole numbers separated by commas, e.g. 1,8, got '0,8'"),
    (["--rules", ""], "--rules takes a non-empty value, got ''"),
    (["--only", "latency"], "--only takes http or throughput, got 'latency'"),
    (["--stores", "memory,disk"], "--stores takes memory or redis, or several separated by commas (memory,redis), got 'memory,disk'"),
    (["--stores", ","], "--stores takes memory or redis, or several separated by commas (memory,redis), got ','"),
])
func errorsNameTheOptionAndWhatItTakes(arguments: [String], message: String) {
    #expect(failure(arguments) == message)
}

@Test(arguments: [["--help"], ["-h"], ["--events", "abc", "--help"], ["--bogus", "-h"]])
func helpWinsWherever(arguments: [String]) throws {
    #expect(throws: BenchHelpRequested.self) { try parse(arguments) }
}

@Test func helpListsEveryOptionWithItsDefault() throws {
    let text = BenchArguments.usage("test", suite)
    #expect(text.hasPrefix("usage: waqiti-bench test [options]"))
    #expect(text.contains("A test suite.\nIts details."))
    #expect(text.contains("  --events N "))
    #expect(text.contains("events [default: 1000]"))
    #expect(text.contains("  --only http|throughput "))
    #expect(text.contains("one phase [default: every phase]"))
    #expect(text.contains("  --no-http "))
    #expect(text.contains("  -h, --help "))
    #expect(text.contains("timed runs after the warm-up; the tables show their medians; less than 1 counts as 1 [default: 3]"))
}

@Test(arguments: [("replya", "replay"), ("decdoe", "decode"), ("--evnts", "--events"), ("throughput", nil)])
func closestNames(word: String, expected: String?) {
    #expect(closestName(to: word, among: ["replay", "decode", "decide", "--events"]) == expected)
}

// Every suite's options, their defaults as the help prints them: the same as before the shared parser.
@Test(arguments: [
    ("decode", ["--events": "1000000", "--runs": "5"]),
    ("simulate", ["--events": "1000000", "--runs": "5"]),
    ("decide", ["--events": "20000", "--runs": "3", "--sizes": "1,8,64,512", "--rules": "rules/default.rules",
                "--model": "models/default.json", "--profile": "off"]),
    ("features", ["--events": "1000000", "--redis-events": "200000", "--runs": "3", "--redis": "$WAQITI_REDIS_URL, else the Redis rows are skipped",
                  "--python": "python3", "--profile": "off", "--only": "every row"]),
    ("replay", ["--events": "1000000", "--runs": "3", "--rules": "rules/default.rules", "--model": "models/default.json", "--workers": "2"]),
    ("model", ["--rows": "1000000", "--runs": "3"]),
    ("rules", ["--rules": "rules/default.rules", "--events": "20000", "--runs": "9"]),
    ("engine", ["--events": "200000", "--runs": "3", "--seconds": "15", "--warmup": "3", "--stores": "memory,redis", "--http-seconds": "15",
                "--no-http": "off", "--only": "every phase", "--waqiti": ".build/release/waqiti", "--compare": "none"]),
])
func suiteOptionsAndDefaults(name: String, defaults: [String: String]) throws {
    let suite = try #require(BenchSuites.all[name])
    #expect(Dictionary(uniqueKeysWithValues: suite.options.map { ($0.name, $0.defaultText) }) == defaults)
    #expect(!suite.summary.isEmpty && !suite.summary.hasPrefix("\n"))
    #expect(throws: BenchHelpRequested.self) { try BenchArguments(["--help"], suite: name, suite) }
    #expect(throws: BenchError.self) { try BenchArguments(["--no-such-option"], suite: name, suite) }
}

@Test func everySuiteIsTested() {
    #expect(BenchSuites.all.keys.sorted() == ["decide", "decode", "engine", "features", "model", "replay", "rules", "simulate"])
}

@Test func replayModelNoneAndWorkers() throws {
    let arguments = try BenchArguments(["--model", "none", "--workers", "1", "--runs", "0"], suite: "replay", ReplayBench.suite)
    #expect(arguments[ReplayBench.modelOption] == "none")
    #expect(arguments[ReplayBench.workersOption] == 2)
    #expect(arguments[ReplayBench.runsOption] == 1)
}

@Test func engineKeepsItsChecks() throws {
    func options(_ given: [String]) throws -> EngineBench.Options {
        try EngineBench.Options(BenchArguments(given, suite: "engine", EngineBench.suite))
    }
    let defaults = try options([])
    #expect(defaults.http && !defaults.onlyHTTP && !defaults.onlyThroughput && defaults.compare == nil)
    let http = try options(["--only", "http", "--no-http", "--stores", "memory"])
    #expect(http.onlyHTTP && !http.onlyThroughput && !http.http && http.stores == ["memory"])
    let ab = try options(["--only", "throughput", "--compare", "/tmp/other", "--waqiti", "/tmp/one"])
    #expect(ab.onlyThroughput && ab.compare == "/tmp/other" && ab.waqiti == "/tmp/one")
    #expect(throws: BenchError.self) { try options(["--compare", "/tmp/other"]) }
    #expect(throws: BenchError.self) { try options(["--events", "0"]) }
}

@Test func featuresOnlyRedis() throws {
    func options(_ given: [String]) throws -> FeaturesBench.Options {
        try FeaturesBench.Options(BenchArguments(given, suite: "features", FeaturesBench.suite))
    }
    let redis = try options(["--only", "redis", "--redis", "redis://127.0.0.1:6379/0"])
    #expect(redis.onlyRedis && redis.redisURL == "redis://127.0.0.1:6379/0")
    #expect(try options([]).onlyRedis == false)
    #expect(throws: BenchError.self) { try BenchArguments(["--only", "memory"], suite: "features", FeaturesBench.suite) }
}
