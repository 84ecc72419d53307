import Features
import Foundation
import FraudCore
import Redis

// The Redis rows of suite `features`: the Redis store with 4 features per event against a local
// Redis, the server's time per command (INFO commandstats), and redis-benchmark -P 32 on the same
// server in the same run as the ceiling. Alone:
//   swift run -c release waqiti-bench features --only redis --events 200000 --redis-events 200000 --runs 3 --redis URL
extension FeaturesBench {
    /// The Redis section of bench/results/features.md lies between these lines, so `--only redis`
    /// can rewrite it and leave the in-memory rows alone.
    static let redisBegin = "<!-- redis section: `waqiti-bench features` writes it; `--only redis` rewrites only this part -->\n"
    static let redisEnd = "<!-- end of redis section -->\n"

    static func redisSection(stream: [PaymentEvent], url: String, runs: Int) throws -> String {
        let batches = chunks(stream)
        let four = try plan(fourRedisFeatures)
        var configuration = try RedisConfiguration(url: url)
        // A starved redis-server on the shared machine can take over the 1 s default for one 512-event
        // round trip; the benchmark measures throughput, so it waits rather than failing the run.
        configuration.commandTimeout = .seconds(30)
        let host = configuration.host, port = configuration.port
        let cli = "redis-cli -h \(host) -p \(port)"
        let serverPID = shell("\(cli) info server | tr -d '\\r' | grep '^process_id:' | cut -d: -f2")
        let prefix = "waqiti-bench:\(getpid()):"
        var run = 0
        var serverCPU: [Double] = []
        let memoryBefore = Double(shell("\(cli) info memory | tr -d '\\r' | grep '^used_memory:' | cut -d: -f2")) ?? 0
        let statsBefore = commandStats(cli)
        let timings = try measureTimings(runs: runs) {
            run += 1
            let store = RedisFeatureStore(configuration: configuration, keyPrefix: "\(prefix)\(run):")
            var out: [Double] = []
            let cpuBefore = processCPUSeconds(serverPID)
            for batch in batches { _ = try store.processSync(batch, plan: four, mode: .update, into: &out) }
            serverCPU.append(processCPUSeconds(serverPID) - cpuBefore)
            return Int64(out.count)
        }
        let statsAfter = commandStats(cli)
        // The last run's keys are still there: Redis memory per stored entry.
        let memoryAfter = Double(shell("\(cli) info memory | tr -d '\\r' | grep '^used_memory:' | cut -d: -f2")) ?? 0
        // Every list is one entity's log: a header, then its entries.
        let count = #"local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do if redis.call('TYPE', k).ok == 'list' then n = n + redis.call('LLEN', k) - 1 end end return n"#
        let entries = Double(shell("\(cli) eval \"\(count)\" 0 '\(prefix)\(run):*'")) ?? 0
        _ = shell("\(cli) --scan --pattern '\(prefix)*' | xargs -r -n 500 \(cli) del > /dev/null")
        // Other runs' keys were deleted above only now, so the memory delta covers all runs' keys: divide by runs + 1.
        let bytesPerEntry = entries > 0 ? (memoryAfter - memoryBefore) / (entries * Double(runs + 1)) : .nan
        serverCPU = Array(serverCPU.dropFirst()).sorted()
        let wall = timings.wall[timings.wall.count / 2], clientCPU = timings.cpu[timings.cpu.count / 2]
        let server = serverCPU[serverCPU.count / 2]
        let n = Double(stream.count)

        var rows = [["Redis store, 4 features (2 keys) per event", String(stream.count), format2(wall * 1000), String(Int(n / wall)),
                     format2(clientCPU / n * 1e6), format2(server / n * 1e6), String(Int(n / server))]]
        var ceilings: [(command: String, perSecond: Double, perServerSecond: Double)] = []
        for command in ["set", "get"] {
            let requests = 1_000_000
            let cpuBefore = processCPUSeconds(serverPID)
            let name = command.uppercased()
            let text = shell("redis-benchmark -h \(host) -p \(port) -P 32 -n \(requests) -t \(command) -q 2>/dev/null | tr '\\r' '\\n' | grep -o '\(name): [0-9.]*' | tail -1 | cut -d' ' -f2")
            let cpu = processCPUSeconds(serverPID) - cpuBefore
            guard let perSecond = Double(text) else { continue }
            ceilings.append((name, perSecond, Double(requests) / cpu))
            rows.append(["`redis-benchmark -P 32 -t \(command) -n \(requests)` (ceiling)", String(requests), format2(Double(requests) / perSecond * 1000),
                         String(Int(perSecond)), "–", format2(cpu / Double(requests) * 1e6), String(Int(Double(requests) / cpu))])
        }
        var notes: [String] = []
        if let set = ceilings.first {
            notes.append("The store reaches **\(format2(n / wall / set.perSecond * 100))%** of `redis-benchmark -P 32 -t set` in events/s by wall time, and \(format2(n / server / set.perServerSecond * 100))% by Redis CPU time (events per server CPU-second ÷ SETs per server CPU-second). One event is one entry appended to each of its 2 entities' logs (card, account).")
        } else {
            notes.append("redis-benchmark failed (is it installed?).")
        }
        notes.append("Redis memory: \(format2(bytesPerEntry)) bytes of `used_memory` per stored entry (a list element of ~25–45 bytes in a listpack or quicklist node, plus the per-entity key, header and TTL; \(Int(entries)) entries per run).")

        let passes = n * Double(runs + 1)
        var perCommand: [[String]] = []
        var inner = 0.0, containers = 0.0
        let deltas = statsAfter.map { name, after in
            (name: name, calls: after.calls - (statsBefore[name]?.calls ?? 0), usec: after.usec - (statsBefore[name]?.usec ?? 0))
        }
        for command in deltas.sorted(by: { $0.usec > $1.usec }) where command.calls > 0 && command.name != "info" {
            // `multi` and `script` (the warm-up's load) run on their own, not inside EXEC or EVALSHA.
            if command.name == "evalsha" || command.name == "exec" {
                containers += command.usec
            } else if command.name != "multi" && command.name != "script" {
                inner += command.usec
            }
            let label = command.name == "evalsha" ? "evalsha (the whole script)" : command.name == "exec" ? "exec (the whole MULTI block)" : command.name
            perCommand.append([label, format2(command.calls / passes),
                               format2(command.usec / command.calls), format2(command.usec / passes)])
        }
        perCommand.append(["Lua and EXEC outside Redis commands (evalsha + exec − the commands they ran)", "–", "–", format2((containers - inner) / passes)])

        return "### Redis store (`redis-server` \(shell("\(cli) info server | tr -d '\\r' | grep '^redis_version:' | cut -d: -f2")) on \(host):\(port))\n\n"
            + table(["measurement", "events / requests", "wall ms", "per second (wall)", "client CPU µs / event", "redis-server CPU µs / event or request", "per server CPU-second"], rows)
            + "\nMedians of \(runs) runs after one warm-up, first \(stream.count) events of the same file, batches of 512, one connection, one `MULTI` block per batch (plus the scripts of docs/features.md's slow paths and upkeep). Client CPU = the calling thread's CPU time; redis-server CPU = utime + stime of the server process (/proc/PID/stat) during the run.\n\n"
            + notes.map { "- \($0)\n" }.joined()
            + "\n#### Redis server time per event, by command\n\n"
            + table(["command", "calls / event", "µs / call", "µs / event"], perCommand)
            + "\nFrom `INFO commandstats` deltas over the warm-up and the \(runs) runs (\(Int(passes)) events); `evalsha` includes the commands the scripts call, `exec` those of the `MULTI` block. `usec` is time inside the command by the wall clock, so on a loaded machine it includes time the server was descheduled; compare with the server CPU per event above. `rpushx` is the append and `lindex` the per-entity header read (the `MULTI` block), `rpush` the appends that create a list (`LogScript`), `lrange` catch-up reads and head trimming, `lset`/`pexpire`/`ltrim` the upkeep of header, TTL and head (`LogScript.maintenance`); `info` (the bench's own probes) is left out.\n"
    }

    /// `INFO commandstats` as command → (calls, usec).
    static func commandStats(_ cli: String) -> [String: (calls: Double, usec: Double)] {
        var stats: [String: (calls: Double, usec: Double)] = [:]
        for line in shell("\(cli) info commandstats | tr -d '\\r' | grep '^cmdstat_'").split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[line.index(line.startIndex, offsetBy: "cmdstat_".count)..<colon])
            var calls = 0.0, usec = 0.0
            for field in line[line.index(after: colon)...].split(separator: ",") {
                let pair = field.split(separator: "=")
                guard pair.count == 2, let value = Double(pair[1]) else { continue }
                if pair[0] == "calls" { calls = value } else if pair[0] == "usec" { usec = value }
            }
            stats[name] = (calls, usec)
        }
        return stats
    }

    /// utime + stime of a process, in seconds (0 when it cannot be read).
    static func processCPUSeconds(_ pid: String) -> Double {
        let fields = shell("cut -d' ' -f14,15 /proc/\(pid)/stat 2>/dev/null").split(separator: " ").compactMap { Double($0) }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return fields.count == 2 ? (fields[0] + fields[1]) / ticks : 0
    }

    /// Replaces the Redis section of bench/results/features.md (between `redisBegin` and `redisEnd`,
    /// appended when absent), leaving the in-memory rows as they were measured.
    static func writeRedisOnly(arguments: [String], section: String) throws {
        let path = "bench/results/features.md"
        var text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Benchmark: features\n\n"
        let header = "- Command: `\((["swift run -c release waqiti-bench features"] + arguments).joined(separator: " "))` (from the repository root)\n" + provenance() + "\n"
        let replacement = redisBegin + section.replacingOccurrences(of: "\n\n", with: "\n\n" + header, options: [], range: section.range(of: "\n\n")) + redisEnd
        if let begin = text.range(of: redisBegin), let end = text.range(of: redisEnd, range: begin.upperBound..<text.endIndex) {
            text.replaceSubrange(begin.lowerBound..<end.upperBound, with: replacement)
        } else {
            text += "\n" + replacement
        }
        print(replacement)
        let output = try FileOutput(path: path)
        try output.write(Array(text.utf8))
        try output.close()
    }
}
