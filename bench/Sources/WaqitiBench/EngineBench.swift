import Foundation
import Histogram
import Kafka
import Redis

// Suite `engine`: `waqiti serve` end to end over the real broker, Redis and HTTP over loopback.
//   deploy/local/start && source deploy/local/env.sh && swift build -c release
//   swift run -c release waqiti-bench engine [--events N] [--runs R] [--seconds S] [--warmup S]
//       [--stores memory,redis] [--http-seconds S] [--no-http] [--only http|throughput] [--waqiti .build/release/waqiti]
//       [--compare OTHER-WAQITI]
// Restart the broker first (deploy/local/stop.sh kafka && deploy/local/start.sh kafka) so every
// run starts from the same empty broker: Tansu keeps everything in memory (bench/results/engine.md).
//
// 1. Throughput: N simulated payments are preloaded on a 6-partition topic; in each of R rounds
//    the pass-through copier (the ceiling), then a fresh engine per store (new consumer group,
//    Redis database flushed) drain them; the rate is counted from the first to the last output
//    message, so process start and group join are excluded. Median of the rounds.
// 2. Latency: per store and offered rate (1,000/s, a quarter and half of that store's measured
//    maximum), the pass-through copier and then a fresh engine, each on fresh topics, are offered
//    payments open loop; latency runs from each payment's scheduled produce instant to its
//    decision's (or copy's) arrival at the reader.
// 3. HTTP: `POST /v1/score` under wrk at fixed rates and unthrottled, on a fresh in-memory engine
//    (EngineBenchHTTP.swift). `--only http` runs this phase alone on a fresh engine and replaces
//    only the HTTP section and target line of bench/results/engine.md.
// WAQITI_BENCH_LATENCY_TRACE=DIR writes each latency row's timed arrivals (scheduled index,
// latency µs) to DIR/<output topic>.tsv, to see when in the row its tail happened.
// `--only throughput` runs phase 1 alone and prints its medians instead of writing the results
// file; with `--compare OTHER-WAQITI` each round also drains with that binary (an A/B of two
// builds on the same preloaded topic, the two engines' order alternating from round to round).

enum EngineBench {
    struct Options {
        static let events: BenchOption<Int> = .integer("--events", default: 200_000, minimum: 1, help: "payments preloaded for the throughput rounds")
        static let runs: BenchOption<Int> = .integer("--runs", "R", default: 3, minimum: 1, help: "throughput rounds; the tables show their medians")
        static let seconds: BenchOption<Int> = .integer("--seconds", "S", default: 15, minimum: 1, help: "seconds timed at each offered rate of the latency rows")
        static let warmup: BenchOption<Int> = .integer("--warmup", "S", default: 3, minimum: 1, help: "seconds of warm-up before each latency and HTTP row is timed")
        static let stores: BenchOption<[String]> = .words("--stores", from: ["memory", "redis"], default: ["memory", "redis"], help: "the feature stores the engine runs with, a row each")
        static let httpSeconds: BenchOption<Int> = .integer("--http-seconds", "S", default: 15, minimum: 1, help: "seconds timed of each HTTP row (wrk)")
        static let noHTTP: BenchOption<Bool> = .flag("--no-http", help: "skip the HTTP rows")
        static let only: BenchOption<String?> = .word("--only", from: ["http", "throughput"], unset: "every phase",
                                                      help: "run this phase alone: http replaces only the HTTP section of bench/results/engine.md; throughput prints its medians and writes nothing")
        static let waqiti: BenchOption<String> = .text("--waqiti", "PATH", default: ".build/release/waqiti", help: "the engine binary (`swift build -c release` first)")
        static let compare: BenchOption<String?> = .text("--compare", "OTHER-WAQITI", unset: "none",
                                                         help: "with --only throughput: each round also drains with this binary (an A/B of two builds)")
        static let declared: [any BenchOptionDeclaration] = [events, runs, seconds, warmup, stores, httpSeconds, noHTTP, only, waqiti, compare]

        var events: Int
        var runs: Int
        var seconds: Int
        var warmup: Int
        var stores: [String]
        var httpSeconds: Int
        var http: Bool
        var onlyHTTP: Bool
        var onlyThroughput: Bool
        var compare: String?
        var waqiti: String

        init(_ arguments: BenchArguments) throws {
            events = arguments[Self.events]
            runs = arguments[Self.runs]
            seconds = arguments[Self.seconds]
            warmup = arguments[Self.warmup]
            stores = arguments[Self.stores]
            httpSeconds = arguments[Self.httpSeconds]
            http = !arguments[Self.noHTTP]
            onlyHTTP = arguments[Self.only] == "http"
            onlyThroughput = arguments[Self.only] == "throughput"
            compare = arguments[Self.compare]
            waqiti = arguments[Self.waqiti]
            if compare != nil, !onlyThroughput { throw BenchError("--compare needs --only throughput (the results file has one engine)") }
        }
    }

    static let partitions: Int32 = 6

    static let suite = BenchSuite(summary: """
        `waqiti serve` end to end over the local broker, Redis and HTTP.
        Throughput against a pass-through copier, event-to-decision latency at fixed offered rates, and \
        `POST /v1/score` under wrk; writes bench/results/engine.md. Needs the local stack (deploy/local) \
        and a release `waqiti`; see the header of bench/Sources/WaqitiBench/EngineBench.swift.
        """, options: Options.declared) { arguments in try await run(arguments) }

    static func run(_ arguments: BenchArguments) async throws {
        let options = try Options(arguments)
        let environment = ProcessInfo.processInfo.environment
        let brokers = environment["WAQITI_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        let redisURL = benchRedisURL(environment["WAQITI_REDIS_URL"] ?? "redis://127.0.0.1:6379")
        guard FileManager.default.isExecutableFile(atPath: options.waqiti) else {
            throw BenchError("\(options.waqiti) is not an executable: run `swift build -c release` first (or give --waqiti PATH)")
        }
        let run = "\(Int(Date().timeIntervalSince1970))-\(getpid())"
        let work = "bench/.work/engine-\(run)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let admin = try KafkaAdmin(configuration: BenchKafka.client(brokers, "waqiti-bench-admin"))
        let loadBefore = shell("cut -d' ' -f1-3 /proc/loadavg")

        func startEngine(_ label: String, store: String, payments: String, executable: String? = nil) async throws -> (EngineProcess, String) {
            let decisions = "bench-\(run)-\(label)-decisions"
            try admin.createTopic(decisions, partitions: partitions)
            try admin.createTopic("bench-\(run)-\(label)-dlq", partitions: 1)
            if store == "redis" { try flush(redisURL) }
            let engine = try EngineProcess(executable: executable ?? options.waqiti, environment: [
                "WAQITI_KAFKA_BROKERS": brokers,
                "WAQITI_KAFKA_PAYMENTS_TOPIC": payments,
                "WAQITI_KAFKA_DECISIONS_TOPIC": decisions,
                "WAQITI_KAFKA_DLQ_TOPIC": "bench-\(run)-\(label)-dlq",
                "WAQITI_KAFKA_GROUP_ID": "bench-\(run)-\(label)",
                "WAQITI_FEATURES_STORE": store,
                "WAQITI_REDIS_URL": redisURL,
            ], logPath: "\(work)/\(label).log")
            try await engine.waitUntilServing()
            return (engine, decisions)
        }

        var pool = try BenchEventPool(seed: 42)
        if options.onlyHTTP {
            let topic = "bench-\(run)-http-payments"
            try admin.createTopic(topic, partitions: partitions)
            let (engine, _) = try await startEngine("http-memory", store: "memory", payments: topic)
            let outcome = try EngineBenchHTTP.measure(engine: engine, pool: &pool, seconds: options.httpSeconds, warmup: options.warmup, run: run, work: work)
            engine.stop()
            try EngineBenchReport.writeHTTPOnly(arguments: arguments.given, options: options, loadBefore: loadBefore, outcome: outcome)
            return
        }
        let drainEvents = pool.take(options.events)
        let drainTopic = "bench-\(run)-payments"
        try admin.createTopic(drainTopic, partitions: partitions)
        try await BenchKafka.preload(drainEvents, topic: drainTopic, brokers: brokers)
        print("engine bench \(run): \(options.events) payments preloaded on \(drainTopic); logs in \(work)")

        // 1. Throughput, rounds interleaved so drift on the shared machine hits every path alike.
        var rates: [String: [Double]] = [:]
        var cpu: [String: [Double]] = [:]
        let drainTimeout = Duration.seconds(120 + options.events / 1_000)
        for round in 0..<options.runs {
            let copyTopic = "bench-\(run)-copy-\(round)"
            try admin.createTopic(copyTopic, partitions: partitions)
            let reader = try OutputReader(topic: copyTopic, partitions: partitions, brokers: brokers, identity: .value)
            async let copied = reader.read(expected: options.events, timeout: drainTimeout)
            try await PassThroughCopier.copy(from: drainTopic, to: copyTopic, group: "bench-\(run)-copy-\(round)", expected: options.events,
                                             brokers: brokers, batch: 500, linger: .milliseconds(5))
            let ceiling = await copied
            try check(ceiling, expected: options.events, what: "pass-through round \(round)")
            rates["pass-through", default: []].append(ceiling.throughput)
            print("  round \(round): pass-through \(Int(ceiling.throughput)) msg/s")

            // (path, store, binary): with --compare, each store twice, in alternating order.
            var engines = options.stores.map { ("engine-\($0)", $0, options.waqiti) }
            if let compare = options.compare {
                engines = options.stores.flatMap { store in
                    let pair = [("engine-\(store)", store, options.waqiti), ("compare-\(store)", store, compare)]
                    return round % 2 == 0 ? pair : pair.reversed()
                }
            }
            for (path, store, executable) in engines {
                let (engine, decisions) = try await startEngine("drain-\(path)-\(round)", store: store, payments: drainTopic, executable: executable)
                let cpuAtStart = engine.cpuSeconds
                let reader = try OutputReader(topic: decisions, partitions: partitions, brokers: brokers)
                let result = await reader.read(expected: options.events, timeout: drainTimeout)
                let used = engine.cpuSeconds - cpuAtStart
                engine.stop()
                try check(result, expected: options.events, what: "engine (\(store)) round \(round)")
                rates[path, default: []].append(result.throughput)
                cpu[path, default: []].append(used * 1e6 / Double(options.events))
                print("  round \(round): \(path) (\(executable)) \(Int(result.throughput)) decisions/s, \(String(format: "%.1f", used * 1e6 / Double(options.events))) µs CPU/event")
            }
        }
        let ceiling = median(rates["pass-through"]!)
        if options.onlyThroughput {
            print("pass-through copier: median \(Int(ceiling)) msg/s of \(rates["pass-through"]!.map { Int($0) })")
            for (path, values) in rates.sorted(by: { $0.key < $1.key }) where path != "pass-through" {
                let binary = path.hasPrefix("compare-") ? options.compare! : options.waqiti
                print("\(path) (\(binary)): median \(Int(median(values))) decisions/s = \(percent(median(values) / ceiling)) of the copier "
                    + "(rounds \(values.map { Int($0) })), engine CPU median \(String(format: "%.1f", median(cpu[path]!))) µs/event "
                    + "(rounds \(cpu[path]!.map { String(format: "%.1f", $0) }))")
            }
            return
        }

        // 2. Latency at fixed offered loads, and 3. HTTP on the in-memory engine.
        var latencyRows: [[String]] = []
        var halfMaxP99: [String: (rate: Int, p99: Double)] = [:]
        var http = EngineBenchHTTP.Outcome()
        func offeredRates(_ store: String) -> (rates: [Int], half: Int) {
            let maximum = median(rates["engine-\(store)"]!)
            let half = roundedRate(maximum / 2)
            return (Array(Set([1_000, roundedRate(maximum / 4), half])).filter { $0 > 0 }.sorted(), half)
        }
        var floorP99: [String: Double] = [:]
        for store in options.stores {
            let (offered, half) = offeredRates(store)
            for rate in offered {
                // The broker's own floor at this offered load, measured just before the engine's
                // row so both see the same machine.
                let floor = try await measureCopierFloor(rate: rate, label: "\(store)-\(rate)", pool: &pool, admin: admin, run: run, options: options, brokers: brokers)
                let f = floor.latency
                floorP99["\(store)-\(rate)"] = Double(f.valueAtPercentile(99)) / 1000
                latencyRows.append(["pass-through copier (no scoring)", String(rate), "broker floor", "\(floor.distinct) / \(rate * (options.warmup + options.seconds))",
                                    ms(f.valueAtPercentile(50)), ms(f.valueAtPercentile(99)), ms(f.valueAtPercentile(99.9)), ms(f.max)])
                print("  latency pass-through copier at \(rate)/s: p50 \(ms(f.valueAtPercentile(50))) ms, p99 \(ms(f.valueAtPercentile(99))) ms")
                // Fresh topics and a fresh engine per offered load, as the copier gets: Tansu's
                // in-memory fetch lists every record batch of a partition, so an engine reading a
                // topic reused across loads paid for the earlier loads' batches and the copier did not.
                let topic = "bench-\(run)-latency-\(store)-\(rate)"
                try admin.createTopic(topic, partitions: partitions)
                let (engine, decisions) = try await startEngine("latency-\(store)-\(rate)", store: store, payments: topic)
                try await waitForOutputs(from: topic, on: decisions, pool: &pool, brokers: brokers, what: "latency probe (\(store), \(rate)/s)")
                let events = pool.take(rate * (options.warmup + options.seconds))
                let result = try await timeOutputs(of: events, rate: rate, topic: topic, output: decisions, identity: .key, options: options, brokers: brokers)
                engine.stop()
                let h = result.latency
                latencyRows.append([store, String(rate), rate == half ? "half of max" : rate == 1_000 ? "fixed" : "quarter of max",
                                    "\(result.distinct) / \(events.count)", ms(h.valueAtPercentile(50)), ms(h.valueAtPercentile(99)),
                                    ms(h.valueAtPercentile(99.9)), ms(h.max)])
                if rate == half { halfMaxP99[store] = (rate, Double(h.valueAtPercentile(99)) / 1000) }
                print("  latency \(store) at \(rate)/s: decided \(result.distinct)/\(events.count), p50 \(ms(h.valueAtPercentile(50))) ms, p99 \(ms(h.valueAtPercentile(99))) ms, p99.9 \(ms(h.valueAtPercentile(99.9))) ms")
            }

            if store == "memory", options.http {
                let topic = "bench-\(run)-http-payments"
                try admin.createTopic(topic, partitions: partitions)
                let (engine, _) = try await startEngine("http-memory", store: "memory", payments: topic)
                http = try EngineBenchHTTP.measure(engine: engine, pool: &pool, seconds: options.httpSeconds, warmup: options.warmup, run: run, work: work)
                engine.stop()
            }
        }

        var throughputRows: [[String]] = [["pass-through copier (no scoring)", "-", String(Int(ceiling)), "-", "100%"]]
        for store in options.stores {
            let rate = median(rates["engine-\(store)"]!)
            throughputRows.append(["waqiti serve", store, String(Int(rate)), String(Int(median(cpu["engine-\(store)"]!))), percent(rate / ceiling)])
        }
        var targets: [String] = []
        if let memory = rates["engine-memory"].map(median) {
            targets.append("throughput with the in-memory store ≥ 50% of pass-through: \(percent(memory / ceiling)) — \(memory / ceiling >= 0.5 ? "met" : "NOT met")")
        }
        for store in options.stores {
            if let (rate, p99) = halfMaxP99[store] {
                let floor = floorP99["\(store)-\(rate)"].map { String(format: " (the broker's floor, the copier at \(rate)/s: p99 %.2f ms)", $0) } ?? ""
                targets.append("p99 event→decision ≤ 25 ms at half the measured maximum (\(store)): \(String(format: "%.2f", p99)) ms — \(p99 <= 25 ? "met" : "NOT met")\(floor)")
            }
        }
        if let line = http.targetLine { targets.append(line) }
        try EngineBenchReport(
            arguments: arguments.given, options: options, loadBefore: loadBefore, throughput: throughputRows,
            latency: latencyRows, http: http.rows, targets: targets
        ).write()
    }

    /// Offers `events` at `rate` on `topic` (open loop) and times each one's output on `output`
    /// from its scheduled produce instant; the first `warmup` seconds' worth are not timed.
    static func timeOutputs(
        of events: [BenchEvent], rate: Int, topic: String, output: String, identity: OutputReader.Identity,
        options: Options, brokers: String
    ) async throws -> ReadResult {
        var index: [String: Int] = [:]
        index.reserveCapacity(events.count)
        for (position, event) in events.enumerated() {
            index[identity == .key ? event.paymentID : String(decoding: event.value, as: UTF8.self)] = position
        }
        let reader = try OutputReader(topic: output, partitions: partitions, brokers: brokers, identity: identity, fromEnd: true)
        let start = ContinuousClock.now + .milliseconds(50)
        let schedule = OutputReader.Schedule(index: index, rate: rate, start: start, measureFrom: rate * options.warmup)
        async let read = reader.read(expected: events.count, timeout: .seconds(options.warmup + options.seconds + 60), schedule: schedule)
        try await BenchKafka.offer(events, rate: rate, topic: topic, brokers: brokers, start: start)
        return await read
    }

    static let probeSize = 200

    /// Waits until a freshly started consumer (engine or copier) has joined its group and answers
    /// (otherwise the first measured payments would time the group join): `probeSize` payments
    /// into `input`, every output back on `output`.
    static func waitForOutputs(
        from input: String, on output: String, identity: OutputReader.Identity = .key, pool: inout BenchEventPool, brokers: String, what: String
    ) async throws {
        let probe = pool.take(probeSize)
        let reader = try OutputReader(topic: output, partitions: partitions, brokers: brokers, identity: identity)
        try await BenchKafka.preload(probe, topic: input, brokers: brokers)
        try check(await reader.read(expected: probe.count, timeout: .seconds(120)), expected: probe.count, what: what)
    }

    /// The pass-through copier (the throughput ceiling's, same settings) offered `rate` on a fresh
    /// topic pair and consumer group, after a probe that waits out its group join.
    static func measureCopierFloor(
        rate: Int, label: String, pool: inout BenchEventPool, admin: KafkaAdmin, run: String, options: Options, brokers: String
    ) async throws -> ReadResult {
        let input = "bench-\(run)-floor-\(label)-payments", output = "bench-\(run)-floor-\(label)-copies"
        try admin.createTopic(input, partitions: partitions)
        try admin.createTopic(output, partitions: partitions)
        let count = rate * (options.warmup + options.seconds)
        let copier = Task {
            try await PassThroughCopier.copy(from: input, to: output, group: "bench-\(run)-floor-\(label)", expected: probeSize + count,
                                             brokers: brokers, batch: 500, linger: .milliseconds(5))
        }
        try await waitForOutputs(from: input, on: output, identity: .value, pool: &pool, brokers: brokers, what: "copier latency probe")
        let events = pool.take(count)
        let result = try await timeOutputs(of: events, rate: rate, topic: input, output: output, identity: .value, options: options, brokers: brokers)
        try await copier.value
        return result
    }

    /// The bench's own Redis database (12), flushed before each Redis phase, so earlier runs'
    /// windows never leak in and nobody else's data is touched.
    static func benchRedisURL(_ base: String) -> String {
        guard let scheme = base.range(of: "://") else { return base + "/12" }
        let authority = base[scheme.upperBound...].prefix { $0 != "/" }
        return String(base[..<scheme.upperBound]) + authority + "/12"
    }

    static func flush(_ url: String) throws {
        // Synchronous (ASYNC would free the old keys while the next engine is measured), so it
        // takes seconds after a Redis drain on a loaded machine: the default 1 s timeout failed.
        let connection = try RedisConnection(configuration: RedisConfiguration(url: url, commandTimeout: .seconds(120)))
        _ = try connection.send(RedisCommand("FLUSHDB"))
        connection.disconnect()
    }

    static func check(_ result: ReadResult, expected: Int, what: String) throws {
        guard result.distinct == expected else {
            throw BenchError("\(what): \(result.distinct) distinct of \(expected) outputs arrived before the deadline (\(result.received) messages read)")
        }
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    static func roundedRate(_ rate: Double) -> Int { Int((rate / 100).rounded()) * 100 }
    /// One decimal: a share of 49.5% rounded to "50%" read as met beside "NOT met".
    static func percent(_ ratio: Double) -> String { String(format: "%.1f%%", ratio * 100) }
    static func ms(_ microseconds: UInt64) -> String { String(format: "%.2f", Double(microseconds) / 1000) }
}
