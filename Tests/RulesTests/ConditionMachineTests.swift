import Features
import Foundation
import FraudCore
import Simulation
import Testing
@testable import Rules

/// The condition machine (flat instructions) gives every rule the truth the closures give it,
/// and it is safe to share: many threads evaluate one rule set while it is dropped.
struct ConditionMachineTests {

    /// Events that hit the lists, the empty (missing) fields, other currencies and every enum case.
    static func event(_ random: inout SimulationRandom) -> PaymentEvent {
        sampleEvent { event in
            event.paymentID = "p\(random.below(1000))"
            event.occurredAt = EventTime(millisecondsSinceEpoch: 1_795_948_200_000 + Int64(random.below(86_400_000)))
            event.accountID = random.pick(["acct_1", "acct_trusted_1", "", "a_very_long_account_identifier_0042"])
            event.cardFingerprint = random.pick(["card_1", "card_2", ""])
            event.deviceID = random.pick(["dev_1", "dev_blocked_1", "", "d"])
            event.ip = random.pick(["10.0.0.1", "203.0.113.7", ""])
            event.mcc = random.pick(["5411", "7995", "5815", "4829", "5999", ""])
            event.merchantID = random.pick(["m_1", "m_2", ""])
            event.amount = Money(minorUnits: Int64(random.below(300_000)) - 1000, currency: random.pick([.usd, .eur, Currency("JPY")!, Currency("XAF")!]))
            event.cardCountry = random.pick(["US", "GB", "NG", ""])
            event.ipCountry = random.pick(["US", "GB", "BR", ""])
            event.channel = random.pick(Channel.allCases)
            event.type = random.pick(PaymentType.allCases)
            event.beneficiaryID = random.pick([nil, "ben_1", ""])
            event.metadata = random.pick([[:], ["scenario": "normal"], ["scenario": ""], ["scenario": "ato"]])
        }
    }

    /// Feature values including missing, fractional, negative, huge and infinite ones.
    static func feature(_ random: inout SimulationRandom) -> Double {
        random.pick([.nan, 0, 1, 2, 3, 4, 5, 8, 20, 2.5, 599.5, 600, 86_400, 1e19, -1e19, .infinity, -3, 1500.25, 40_000])
    }

    static func checkAgreement(_ ruleSet: RuleSet, events: Int, seed: UInt64) {
        var random = SimulationRandom(seed: seed)
        var disagreements: [String] = []
        for _ in 0..<events {
            let event = event(&random)
            let row = (0..<ruleSet.featurePlan.count).map { _ in feature(&random) }
            let score = random.pick([.nan, 0.1, 0.7, 0.95])
            let points = Int64(random.pick([0, 40, 80, 120]))
            let (closures, machine) = ruleSet.conditionTruths(event: event, features: row, modelScore: score, riskPoints: points)
            for index in closures.indices where closures[index] != machine[index] && disagreements.count < 5 {
                disagreements.append("\(ruleSet.ruleNames[index]): closures \(closures[index]), machine \(machine[index]) on \(event.paymentID)")
            }
        }
        #expect(disagreements == [])
    }

    static let lists = [
        "lists/blocked_devices.txt": "dev_blocked_1\n", "lists/blocked_ips.txt": "203.0.113.7\n",
        "lists/trusted_accounts.txt": "acct_trusted_1\n", "lists/high_risk_mcc.txt": "7995\n4829\n5732\n",
    ]

    @Test func defaultRulesAgreeWithTheClosures() throws {
        let ruleSet = try RuleSetLoader(rulesPath: DefaultRulesTests.rulesPath).load()
        Self.checkAgreement(ruleSet, events: 3000, seed: 1)
    }

    /// One rule per shape the machine has an instruction for, and the ones it leaves to closures.
    static let shapes = [
        "count(card_fingerprint, 10m) >= 5", "sum(amount_usd, account_id, 1h) > 1000.5", "avg(amount_usd, account_id, 7d) <= 3",
        "seconds_since_first(device_id) < 600", "count(account_id, 1h) == 4", "count(account_id, 1h) != 4",
        "amount < 5.00 USD", "amount >= 100 JPY", "amount == 12.50 EUR", "amount > 1.000 KWD", "amount != 5 XAF",
        "amount_usd > 5 * avg(amount_usd, account_id, 7d)", "amount_usd / count(account_id, 1h) > 100", "amount_usd % 7 == 1",
        "amount_usd - sum(amount_usd, account_id, 1h) < 0", "count(account_id, 1h) + 1 > 3", "amount_minor > 10000",
        "mcc in [\"7995\", \"4829\"]", "mcc not in [\"7995\"]", "mcc == \"5411\"", "\"5411\" == mcc", "mcc != \"5411\"",
        "device_id in @devices", "device_id not in @devices", "card_country != ip_country", "card_country == ip_country",
        "type == \"transfer\"", "type != \"payment\"", "type in [\"transfer\", \"withdrawal\"]", "channel not in [\"pos\", \"p2p\"]",
        "\"transfer\" == type", "type == channel", "currency == \"EUR\"", "metadata.scenario == \"normal\"", "metadata.scenario in [\"ato\", \"x\"]",
        "is_missing(beneficiary_id)", "is_missing(device_id)", "is_missing(count(card_fingerprint, 10m))", "is_missing(model_score)",
        "is_missing(metadata.scenario)", "is_missing(beneficiary_id == \"b\")", "not is_missing(channel)",
        "model_score >= 0.7", "not (model_score < 0.7)", "model_score > 0.5 or count(card_fingerprint, 1m) >= 4",
        "big and not foreign", "foreign or big", "spend > 1000 and spend < 1000000000", "velocity >= 3 and velocity <= 5",
        "hour_of_day() in [1, 2, 3, 4]", "day_of_week() >= 6", "merchant_id like \"m\\\\_%\"", "ip matches \"^10\\\\.\"",
        "lower(mcc) == \"5411\"", "length(account_id) > 10", "coalesce(model_score, 0.5) > 0.4", "abs(amount_usd - 100) < 50",
        "log1p(amount_usd) > 5", "floor(amount_usd) == 12", "max(amount_usd, 10) > 11", "count(card_fingerprint, 10m, where channel == \"ecom\") > 1",
        "9007199254740993 > count(account_id, 1h)", "count(account_id, 1h) * 2 > 9223372036854775807", "true", "false and big", "1 > 2 or big",
        "(foreign and big) or (not foreign and velocity > 2)", "not (foreign or not big)",
    ]

    @Test func everyShapeAgreesWithTheClosures() throws {
        var text = """
        list devices = file("lists/blocked_devices.txt")
        let foreign = card_country != ip_country
        let big = amount_usd >= 500
        let spend = sum(amount_usd, account_id, 24h) * 1.5
        let velocity = count(card_fingerprint, 10m)

        """
        for (index, shape) in Self.shapes.enumerated() { text += "rule r\(index): review +10 if \(shape)\n" }
        text += "threshold review if risk_points >= 40\nthreshold decline if risk_points > 80 and model_score > 0.5\n"
        let ruleSet = try compileRules(text, lists: Self.lists)
        #expect(ruleSet.ruleNames.count == Self.shapes.count + 2)
        Self.checkAgreement(ruleSet, events: 2000, seed: 2)
    }

    @Test func generatedBenchRulesAgreeWithTheClosures() throws {
        var lines = ["list devices = file(\"lists/blocked_devices.txt\")", "list mccs = [\"5732\", \"7995\", \"4829\"]"]
        let keys = ["card_fingerprint", "account_id", "device_id", "ip"]
        for i in 0..<8 { lines.append("let v\(i) = count(\(keys[i % 4]), \(["1m", "10m", "1h", "24h"][i / 2 % 4]))") }
        for i in 0..<200 {
            let condition = switch i % 5 {
            case 0: "v\(i % 8) >= \(i % 7 + 2) and amount < \(i % 50 + 1).00 USD"
            case 1: "sum(amount_usd, \(keys[i % 4]), 1h) > \(100 + i) and mcc in @mccs"
            case 2: "distinct(ip_country, account_id, 1h) >= \(i % 3 + 2) or device_id in @devices"
            case 3: "card_country != ip_country and amount_usd > \(i) and not is_missing(beneficiary_id)"
            default: "seconds_since_first(device_id) < \(i * 10) and type == \"transfer\""
            }
            lines.append("rule r\(i): review +\(i % 30) if \(condition)")
        }
        let ruleSet = try compileRules(lines.joined(separator: "\n"), lists: Self.lists)
        Self.checkAgreement(ruleSet, events: 300, seed: 3)
    }

    /// Model feature expressions: evaluated as a list they run on the machine (`FeatureExpressionList`),
    /// one at a time on the closures; both must give the same bits (NaN for missing) on every event.
    static let expressions = [
        "log1p(amount_usd)", "log1p(amount_usd) - log1p(avg(amount_usd, account_id, 24h))", "count(card_fingerprint, 10m)",
        "log1p(sum(amount_usd, card_fingerprint, 24h))", "distinct(ip, account_id, 24h)", "card_country != ip_country",
        "channel == \"ecom\"", "type == \"transfer\"", "mcc in [\"7995\", \"4829\"]", "log(count(account_id, 1h))",
        "exp(avg(amount_usd, account_id, 7d) / 1000)", "sqrt(sum(amount_usd, account_id, 1h) - 500)", "log1p(-2)",
        "seconds_since_first(device_id)", "amount_usd / count(account_id, 1h)", "hour_of_day()", "amount_minor",
        "is_missing(beneficiary_id)", "count(account_id, 1h) * 2 > 9223372036854775807", "abs(amount_usd - 100)",
        "sqrt(log1p(count(ip, 1h)))", "exp(count(card_fingerprint, 10m) * 1000)", "model_score",
    ]

    @Test func featureExpressionListsAgreeWithTheClosures() throws {
        var plan = FeaturePlan()
        let compiled = try Self.expressions.map { try FeatureExpression($0, plan: &plan) }
        let list = FeatureExpressionList(compiled)
        var random = SimulationRandom(seed: 4)
        let events = (0..<2000).map { _ in Self.event(&random) }
        let matrix = (0..<events.count * plan.count).map { _ in Self.feature(&random) }
        var out: [Double] = []
        list.evaluate(events: events, features: matrix, featureCount: plan.count, into: &out)
        var disagreements: [String] = []
        var missing = 0
        for (row, event) in events.enumerated() {
            let features = Array(matrix[row * plan.count ..< (row + 1) * plan.count])
            for (column, expression) in compiled.enumerated() {
                let closure = expression.evaluate(event: event, features: features), machine = out[row * compiled.count + column]
                if machine.isNaN { missing += 1 }
                if closure.bitPattern != machine.bitPattern && !(closure.isNaN && machine.isNaN) && disagreements.count < 5 {
                    disagreements.append("\(expression.source): closure \(closure), machine \(machine) on event \(row)")
                }
            }
        }
        #expect(disagreements == [])
        // Missing values are exercised, but most are not missing: the comparison is not NaN against NaN.
        #expect(missing > 0 && missing < events.count * compiled.count / 3)
    }

    /// The default model's expressions all lower to instructions: none calls a closure.
    @Test func defaultModelExpressionsLowerToInstructions() throws {
        var plan = FeaturePlan()
        let texts = ["log1p(amount_usd)", "log1p(amount_usd) - log1p(avg(amount_usd, account_id, 24h))", "distinct(card_fingerprint, device_id, 24h)",
                     "card_country != ip_country", "channel == \"wallet\"", "type == \"topup\"", "count(beneficiary_id, 24h)"]
        let list = FeatureExpressionList(try texts.map { try FeatureExpression($0, plan: &plan) })
        #expect(list.program.numberClosures.count == 0)
        #expect(list.program.boolClosures.count == 0)
        #expect(list.program.numberRoots.count == texts.count)
    }

    /// The default rules run on instructions: only the shapes without one call a closure.
    @Test func defaultRulesLowerToInstructions() throws {
        let ruleSet = try RuleSetLoader(rulesPath: DefaultRulesTests.rulesPath).load()
        #expect(ruleSet.program.boolClosures.count == 1) // hour_of_day() in [1, 2, 3, 4]
        #expect(ruleSet.program.numberClosures.count == 0)
        #expect(ruleSet.program.roots.count == ruleSet.ruleNames.count)
    }

    /// The frame converts each event's amount with a per-currency cache; it must give exactly
    /// `ExchangeRates.usd`, including after a currency without a rate.
    @Test func frameConvertsAmountsExactlyAsTheRates() {
        let rates = ExchangeRates(usdPerMajorUnit: [.eur: 1.0837, Currency("JPY")!: 0.0067, Currency("KWD")!: 3.25])
        let amounts = [money(1999, "USD"), money(1999, "EUR"), money(12345, "EUR"), money(1500, "JPY"), money(1250, "XAF"),
                       money(7, "EUR"), money(1_234_567, "KWD"), money(-250, "USD"), money(250, "XAF")]
        let frame = Frame(event: sampleEvent(), row: Frame.emptyRow, lets: 0, rates: rates)
        var converted: [Double?] = []
        for amount in amounts {
            frame.load(copying: sampleEvent { $0.amount = amount }, row: Frame.emptyRow, modelScore: .nan)
            converted.append(frame.amountUSD)
        }
        #expect(converted == amounts.map(rates.usd))
        #expect(converted[4] == nil)
    }

    /// Lists too long to compare word by word (device ids, IPs) are hash tables: every member is
    /// found, and no near miss (a prefix, an extra character, another case) is.
    @Test func aHashedListHoldsExactlyItsValues() {
        let members = (0..<5_000).map { "dev_\($0 * 7)" } + ["", "203.0.113.255", "a_very_long_device_identifier_beyond_one_word"]
        let set = ConditionProgram.StringSet(Set(members))
        #expect(members.filter { !set.contains($0) } == [])
        let nearMisses = (0..<5_000).map { "dev_\($0 * 7 + 1)" } + ["dev_", "dev_0 ", "DEV_7", "203.0.113.25", "a_very_long_device_identifier_beyond_one_wor"]
        #expect(nearMisses.filter { set.contains($0) } == [])
        let empty = ConditionProgram.StringSet([])
        #expect(!empty.contains("") && !empty.contains("dev_0"))
    }

    final class Calls: @unchecked Sendable { var count = 0 }

    @Test func aLetIsComputedOncePerEventByTheMachine() throws {
        let calls = Calls()
        var compiler = Compiler(file: "t.rules", plan: FeaturePlan(), rates: .builtIn)
        compiler.bindings["x"] = (Compiled(type: .decimal, code: .decimal { _ in calls.count += 1; return 5 }), 0, 1)
        compiler.letCount = 1
        var sink = DiagnosticSink(file: "t.rules")
        let parsed = Parser.parseExpression("x + x * x > 1 and x < 100", sink: &sink)
        let maybeCompiled = compiler.compile(try #require(parsed))
        let compiled = try #require(maybeCompiled)
        let program = ConditionProgram(conditions: [compiled.boolNode], letCount: 1, rates: .builtIn)
        let frame = Frame(event: sampleEvent(), row: Frame.emptyRow, lets: 1)
        let truths = ConditionMachine.withMachine(program, frame: frame) { machine in
            let first = [machine.condition(0), machine.condition(0)]
            machine.nextEvent()
            return first + [machine.condition(0)]
        }
        #expect(truths == [.yes, .yes, .yes])
        #expect(calls.count == 2)
    }

    /// Rule sets replaced and dropped while other threads evaluate them (the hot-reload pattern):
    /// no crash, and every verdict is the one its rule set gives alone.
    @Test func ruleSetsAreSafeToShareAndDropWhileEvaluated() async throws {
        let sets = try (0..<4).map { version in
            try compileRules("""
            list risky = ["7995", "4829"]
            let big = amount_usd >= \(100 * (version + 1))
            rule r\(version): review +10 if big and mcc in @risky
            rule burst: decline if count(card_fingerprint, 10m) >= \(version + 3) because "{count(card_fingerprint, 10m)} charges"
            threshold review if risk_points >= 10
            """)
        }
        let holder = RuleSetBox(sets[0])
        let events = (0..<200).map { i in sampleEvent { $0.paymentID = "p\(i)"; $0.mcc = i % 2 == 0 ? "7995" : "5411"; $0.amount = money(Int64(i) * 500, "USD") } }
        let features = events.indices.map { Double($0 % 7) }
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var bad = 0
                    for _ in 0..<50 {
                        let ruleSet = holder.current
                        let verdicts = ruleSet.evaluate(events: events, features: features, featureCount: 1)
                        let again = ruleSet.evaluate(event: events[7], features: [features[7]])
                        if verdicts[7] != again { bad += 1 }
                    }
                    return bad
                }
            }
            group.addTask {
                for round in 0..<400 { holder.replace(with: try! compileRules("rule r: review if amount_usd > \(round)")) }
                return 0
            }
            for round in 0..<200 { holder.replace(with: sets[round % 4]) }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}

/// The latest rule set, swapped under a lock (as the engine's watcher swaps its live set).
final class RuleSetBox: @unchecked Sendable {
    private let lock = NSLock()
    private var ruleSet: RuleSet
    init(_ ruleSet: RuleSet) { self.ruleSet = ruleSet }
    var current: RuleSet { lock.withLock { ruleSet } }
    func replace(with new: RuleSet) { lock.withLock { ruleSet = new } }
}
